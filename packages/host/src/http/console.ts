import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppRegistry } from '../apps/app-registry.js';
import { page } from './pages.js';
import type { IdentityRoutes } from '../identity/routes.js';
import { escapeHtml, redirect, requestUrl, sendError, sendHtml } from './respond.js';

export interface ConsoleDeps {
  readonly identity: IdentityRoutes;
  readonly admin: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
  readonly registry: AppRegistry;
  readonly appUrl: (appId: string) => string;
}

/** The console origin: sign-in and handoff, the JWKS, the admin API, and a home page listing apps. */
export function createConsole(deps: ConsoleDeps) {
  function home(req: IncomingMessage, res: ServerResponse): void {
    const user = deps.identity.consoleUser(req);
    if (!user) return redirect(res, '/login');
    const apps = deps.registry.list()
      .map((a) => `<li><a href="${escapeHtml(deps.appUrl(a.id))}/">${escapeHtml(a.name)}</a> <small>${escapeHtml(a.id)} ${escapeHtml(a.version)}</small></li>`)
      .join('');
    sendHtml(res, 200, page('Apps', `<h1>Apps</h1><p>Signed in as ${escapeHtml(user.email)}</p><ul>${apps || '<li>No apps installed.</li>'}</ul>` +
      `<form method="post" action="/logout">${deps.identity.formCsrfField(req, res)}<button type="submit">Sign out</button></form>`));
  }

  return async function handleConsole(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    if (url.pathname.startsWith('/api/admin/')) return deps.admin(req, res, url);
    if (await deps.identity.handle(req, res, url)) return;
    if (req.method === 'GET' && url.pathname === '/') return home(req, res);
    sendError(res, { code: 'http.not_found', message: `${req.method} ${url.pathname} is not found` });
  };
}
