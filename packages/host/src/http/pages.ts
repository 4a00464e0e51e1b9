import { escapeHtml } from './respond.js';

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1d1d1f}
form{display:grid;gap:.75rem}input,button{font:inherit;padding:.5rem}button{cursor:pointer}.error{color:#b00020}
a{color:#0b57d0}ul{padding-left:1.2rem}`;

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
    `<title>${escapeHtml(title)} · Plinth</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export function notFoundPage(host: string): string {
  return page('Not found', `<h1>Nothing here</h1><p>No app answers at <code>${escapeHtml(host)}</code>.</p>`);
}

/** A request the platform could not use, for a browser: what was wrong, and a way back (`signIn`, on an app host its own start). */
export function errorPage(title: string, message: string, signIn = '/login'): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p class="error" role="alert">${escapeHtml(message)}</p><p><a href="${escapeHtml(signIn)}">Sign in</a></p>`);
}
