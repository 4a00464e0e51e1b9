// GET /fetch?n=N&url=U&run=R: N sequential fetches of U?run=R&i=<i>, each body read in full.
// Answers { n, ms, failures, firstFailure }. Plain JavaScript with no imports, so the same
// bundle runs on Plinth and on bare workerd. (bench/egress/run.mjs writes plinth.json beside a
// copy of this file at run time: the manifest's `outbound` names the upstream's port.)
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname !== '/fetch') return new Response('egress bench app', { status: 404 });
    const n = Number(url.searchParams.get('n') ?? '1');
    const target = url.searchParams.get('url');
    const run = url.searchParams.get('run') ?? '0';
    let failures = 0;
    let firstFailure = null;
    const started = Date.now();
    for (let i = 0; i < n; i++) {
      const response = await fetch(`${target}?run=${run}&i=${i}`);
      const body = await response.text();
      if (response.status !== 200) {
        failures++;
        firstFailure ??= `${response.status} ${body.slice(0, 300)}`;
      }
    }
    return Response.json({ n, ms: Date.now() - started, failures, firstFailure });
  },
};
