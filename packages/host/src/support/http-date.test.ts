import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHttpDate } from './http-date.js';

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);

test('the three forms of RFC 9110 §5.6.7 are dates', () => {
  assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), NOV_6_1994);
  assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2026, 0, 1)), NOV_6_1994);
  assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), NOV_6_1994);
  assert.equal(parseHttpDate(' Sun, 06 Nov 1994 08:49:37 GMT '), NOV_6_1994, 'surrounding whitespace is not part of the value');
  assert.equal(parseHttpDate(new Date(Date.UTC(2099, 11, 31)).toUTCString()), Date.UTC(2099, 11, 31));
});

test('an RFC 850 year more than 50 years ahead is in the past century', () => {
  const now = Date.UTC(2026, 11, 8);
  assert.equal(parseHttpDate('Thursday, 01-Jan-76 00:00:00 GMT', now), Date.UTC(2076, 0, 1));
  assert.equal(parseHttpDate('Friday, 01-Jan-77 00:00:00 GMT', now), Date.UTC(1977, 0, 1));
});

test('anything else is not a date, though Date.parse takes most of these', () => {
  assert.equal(Date.parse('2099'), Date.UTC(2099, 0, 1), 'the lenient parser this replaces');
  for (const value of [
    '2099', '12/31/2099', '2099-12-31T00:00:00Z', '2099-12-31', 'Thu, 31 Dec 2099', 'Thu, 31 Dec 2099 00:00:00 UTC',
    'Thu, 31 Dec 2099 00:00:00 +0000', 'thu, 31 dec 2099 00:00:00 GMT', 'Thu, 1 Dec 2099 00:00:00 GMT', 'Mon, 31 Feb 2099 00:00:00 GMT',
    'Thu, 31 Dec 2099 24:00:00 GMT', 'Thu, 31 Dec 2099 23:60:00 GMT', 'tomorrow', '', 'Sun Nov 6 08:49:37 1994',
  ]) {
    assert.equal(parseHttpDate(value), null, value);
  }
});
