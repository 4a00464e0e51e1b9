import { page } from '../http/pages.js';
import { escapeHtml } from '../http/respond.js';

/** A hidden field with the page's CSRF token; every console form carries one. */
export function csrfField(token: string): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(token)}">`;
}

/** `appId`, `returnTo` and the app host's `state` travel in the form; `app` is the name shown to the user. */
export function signInPage(opts: { app: string | null; appId: string | null; returnTo: string | null; state: string | null; error: string | null; csrfField: string }): string {
  const field = (name: string, value: string | null) => (value ? `<input type="hidden" name="${name}" value="${escapeHtml(value)}">` : '');
  const hidden = [opts.csrfField, field('app', opts.appId), field('return', opts.returnTo), field('state', opts.state)].join('');
  const error = opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : '';
  const target = opts.app ? `<p>to continue to <strong>${escapeHtml(opts.app)}</strong></p>` : '';
  return page('Sign in', `<h1>Sign in</h1>${target}${error}<form method="post" action="/login">${hidden}
<label>Email <input name="email" type="email" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>`);
}
