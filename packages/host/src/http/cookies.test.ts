import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPlatformCookieName, platformCookieNames, readCookie, readCookies, refusedAppCookie, sessionCookie, withoutPlatformCookies } from './cookies.js';

const PLAIN = platformCookieNames(false);
const SECRET = `plt_${'A'.repeat(43)}`;

test('platform cookie names: bare on http, __Host- on https', () => {
  assert.deepEqual(PLAIN, { console: 'plinth_session', app: 'plinth_app_session', csrf: 'plinth_csrf', handoffState: 'plinth_handoff_state' });
  assert.deepEqual(platformCookieNames(true), {
    console: '__Host-plinth_session', app: '__Host-plinth_app_session', csrf: '__Host-plinth_csrf', handoffState: '__Host-plinth_handoff_state',
  });
  for (const name of ['plinth_session', ' PLINTH_APP_SESSION ', '__Host-plinth_csrf', '__SECURE-plinth_session', '__Secure-__Host-plinth_app_session', 'Plinth_Handoff_State']) {
    assert.equal(isPlatformCookieName(name), true, name);
  }
  for (const name of ['plinth_app_session_theirs', 'my_plinth_session', 'plinth', '__Host-theme']) assert.equal(isPlatformCookieName(name), false, name);
});

test('platform cookies are removed and the app\'s own are kept in order', () => {
  assert.equal(withoutPlatformCookies(`a=1; ${PLAIN.console}=x; b=2;${PLAIN.app}=y`), 'a=1; b=2');
  assert.equal(withoutPlatformCookies(`${PLAIN.app}=y`), undefined);
  assert.equal(withoutPlatformCookies(undefined), undefined);
  assert.equal(withoutPlatformCookies('__Host-plinth_session=x; Plinth_CSRF=y; c=3; plinth_session'), 'c=3');
  assert.equal(withoutPlatformCookies('__Host-plinth_handoff_state=x; c=3; plinth_handoff_state=y'), 'c=3');
  // A cookie whose name merely starts like ours is the app's; one holding a platform secret is not passed on.
  assert.equal(withoutPlatformCookies(`${PLAIN.app}_theirs=1; stash=${SECRET}`), `${PLAIN.app}_theirs=1`);
});

test('readCookie answers only for a name sent once; readCookies lists every value in order', () => {
  assert.equal(readCookie('x=1; plinth_session=abc', PLAIN.console), 'abc');
  assert.equal(readCookie('plinth_session_x=abc', PLAIN.console), undefined);
  assert.equal(readCookie('plinth_session=planted; x=1; plinth_session=mine', PLAIN.console), undefined);
  assert.deepEqual(readCookies('plinth_session=planted; x=1; plinth_session = mine', PLAIN.console), ['planted', 'mine']);
  assert.deepEqual(readCookies(undefined, PLAIN.console), []);
});

test('an app may set cookies on its own host only, and none named like the platform\'s', () => {
  const host = 'notes.apps.example.com';
  for (const ok of ['theme=dark', `a=1; Domain=${host}`, `a=1; domain=.NOTES.apps.example.com; Path=/x; Secure`, 'a=1; HttpOnly; SameSite=Strict', 'nameless']) {
    assert.equal(refusedAppCookie(ok, host), undefined, ok);
  }
  const refusals: [string, RegExp][] = [
    ['a=1; Domain=apps.example.com', /Domain=apps\.example\.com reaches beyond notes\.apps\.example\.com/],
    ['a=1; Domain=.apps.example.com', /reaches beyond/],
    ['a=1; DOMAIN = Apps.Example.Com ', /reaches beyond/],
    ['a=1; Domain=chat.apps.example.com', /reaches beyond/],
    [`a=1; Domain=x.${host}`, /reaches beyond/],
    [`a=1; Domain=${host}; Domain=apps.example.com`, /reaches beyond/],
    ['a=1; Domain=', /reaches beyond/],
    ['plinth_session=x; Path=/login', /is the platform's/],
    ['Plinth_App_Session=x', /is the platform's/],
    ['__Host-plinth_app_session=x; Path=/; Secure', /is the platform's/],
    ['__secure-plinth_csrf=x; Secure', /is the platform's/],
    ['plinth_handoff_state=x', /is the platform's/],
    ['__Host-plinth_handoff_state=x; Path=/; Secure', /is the platform's/],
    ['=plinth_session=x', /is the platform's/],
  ];
  for (const [cookie, reason] of refusals) assert.match(refusedAppCookie(cookie, host) ?? '', reason, cookie);
});

test('session cookies are host-only, HttpOnly and SameSite=Lax; Secure on https', () => {
  const cookie = sessionCookie('n', 'v', 60_000, true);
  assert.equal(cookie, 'n=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure');
  assert.doesNotMatch(cookie, /Domain/i);
});
