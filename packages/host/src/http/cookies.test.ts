import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_COOKIE, CONSOLE_COOKIE, readCookie, sessionCookie, withoutPlatformCookies } from './cookies.js';

test('platform cookies are removed and the app\'s own are kept in order', () => {
  assert.equal(withoutPlatformCookies(`a=1; ${CONSOLE_COOKIE}=x; b=2;${APP_COOKIE}=y`), 'a=1; b=2');
  assert.equal(withoutPlatformCookies(`${APP_COOKIE}=y`), undefined);
  assert.equal(withoutPlatformCookies(undefined), undefined);
  // A cookie whose name merely starts like ours is the app's.
  assert.equal(withoutPlatformCookies(`${APP_COOKIE}_theirs=1`), `${APP_COOKIE}_theirs=1`);
  // One holding a platform secret is not passed on.
  assert.equal(withoutPlatformCookies(`a=1; stash=plt_${'A'.repeat(43)}`), 'a=1');
});

test('readCookie finds a cookie by exact name', () => {
  assert.equal(readCookie('x=1; plinth_session=abc', CONSOLE_COOKIE), 'abc');
  assert.equal(readCookie('plinth_session_x=abc', CONSOLE_COOKIE), undefined);
});

test('session cookies are host-only, HttpOnly and SameSite=Lax; Secure on https', () => {
  const cookie = sessionCookie('n', 'v', 60_000, true);
  assert.equal(cookie, 'n=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure');
  assert.doesNotMatch(cookie, /Domain/i);
});
