/**
 * HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, and the two obsolete forms a recipient must still
 * accept (RFC 850 and asctime). Nothing else is a date: `Date.parse` would take `2099`,
 * `12/31/2099` or an ISO time, and a conditional request would then match what it should ignore.
 */
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC_850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Milliseconds since the epoch, or null when `value` is not an HTTP-date (the header is then ignored). */
export function parseHttpDate(value: string, nowMs = Date.now()): number | null {
  const text = value.trim();
  let match = IMF_FIXDATE.exec(text);
  if (match) return utc(Number(match[3]), match[2]!, match[1]!, match[4]!, match[5]!, match[6]!);
  match = ASCTIME.exec(text);
  if (match) return utc(Number(match[6]), match[1]!, match[2]!, match[3]!, match[4]!, match[5]!);
  match = RFC_850.exec(text);
  if (!match) return null;
  // A two-digit year more than 50 years ahead is the most recent past year with those digits (§5.6.7).
  const thisYear = new Date(nowMs).getUTCFullYear();
  let year = Math.floor(thisYear / 100) * 100 + Number(match[3]);
  if (year > thisYear + 50) year -= 100;
  return utc(year, match[2]!, match[1]!, match[4]!, match[5]!, match[6]!);
}

function utc(year: number, monthName: string, dayText: string, hourText: string, minuteText: string, secondText: string): number | null {
  const [month, day, hour, minute, second] = [MONTHS.indexOf(monthName), Number(dayText), Number(hourText), Number(minuteText), Number(secondText)];
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  // 60 is a leap second, which the grammar allows; JavaScript time has none, so it is the next second.
  if (day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return null;
  return Date.UTC(year, month, day, hour, minute, second);
}
