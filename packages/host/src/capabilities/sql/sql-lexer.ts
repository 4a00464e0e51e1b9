/**
 * A tokenizer for SQLite's SQL, just deep enough to split a text into statements and to see
 * each statement's keywords, identifiers and parameters without being fooled by strings,
 * quoted identifiers or comments. It follows the token rules of SQLite's `tokenize.c`; it does
 * not parse, and anything it cannot classify is an operator character, which SQLite then
 * rejects or accepts on its own.
 */

export type TokenKind = 'word' | 'identifier' | 'string' | 'number' | 'parameter' | 'semicolon' | 'operator';

export interface Token {
  readonly kind: TokenKind;
  readonly start: number;
  readonly end: number;
  /**
   * Words upper-cased; quoted identifiers unquoted and lower-cased (`"Load_Extension"` →
   * `load_extension`), since SQLite compares names without case; others as written.
   */
  readonly value: string;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r', '\f', '\v']);

function isWordStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c.charCodeAt(0) >= 0x80;
}

function isWordPart(c: string): boolean {
  return isWordStart(c) || (c >= '0' && c <= '9') || c === '$';
}

/** End of a quoted run starting at `start` (the opening quote), where a doubled close quote is an escape. */
function quotedEnd(sql: string, start: number, close: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === close) {
      if (close !== ']' && sql[i + 1] === close) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length; // unterminated: SQLite reports it; everything after stays inside the quote
}

function unquote(text: string): string {
  const open = text[0]!;
  const close = open === '[' ? ']' : open;
  const inner = text.endsWith(close) && text.length > 1 ? text.slice(1, -1) : text.slice(1);
  return (close === ']' ? inner : inner.split(close + close).join(close)).toLowerCase();
}

function numberEnd(sql: string, start: number): number {
  if (/^0[xX]/.test(sql.slice(start, start + 2))) {
    let i = start + 2;
    while (i < sql.length && /[0-9a-fA-F_]/.test(sql[i]!)) i++;
    return i;
  }
  const match = /^[0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]+)?/.exec(sql.slice(start))!;
  return start + Math.max(1, match[0].length);
}

function runEnd(sql: string, start: number, part: (c: string) => boolean): number {
  let i = start;
  while (i < sql.length && part(sql[i]!)) i++;
  return i;
}

/** The token starting at `i`, which is not whitespace or a comment. */
function tokenAt(sql: string, i: number): Token {
  const c = sql[i]!;
  const make = (kind: TokenKind, end: number, value = sql.slice(i, end)): Token => ({ kind, start: i, end, value });
  if (c === "'") return make('string', quotedEnd(sql, i, "'"));
  if (c === '"' || c === '`' || c === '[') {
    const end = quotedEnd(sql, i, c === '[' ? ']' : c);
    return make('identifier', end, unquote(sql.slice(i, end)));
  }
  if ((c >= '0' && c <= '9') || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) return make('number', numberEnd(sql, i));
  if (c === '?') return make('parameter', runEnd(sql, i + 1, (d) => d >= '0' && d <= '9'));
  if ((c === ':' || c === '@' || c === '$') && isWordPart(sql[i + 1] ?? ' ')) return make('parameter', runEnd(sql, i + 1, isWordPart));
  if (isWordStart(c)) {
    const end = runEnd(sql, i, isWordPart);
    return make('word', end, sql.slice(i, end).toUpperCase());
  }
  if (c === ';') return make('semicolon', i + 1);
  return make('operator', i + 1);
}

/** Where the comment or whitespace starting at `i` ends, or `i` when none starts there. */
function skipTrivia(sql: string, i: number): number {
  while (i < sql.length) {
    const c = sql[i]!;
    if (WHITESPACE.has(c)) i++;
    else if (c === '-' && sql[i + 1] === '-') {
      const newline = sql.indexOf('\n', i + 2);
      i = newline === -1 ? sql.length : newline + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close === -1 ? sql.length : close + 2;
    } else return i;
  }
  return i;
}

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  for (let i = skipTrivia(sql, 0); i < sql.length; i = skipTrivia(sql, i)) {
    const token = tokenAt(sql, i);
    tokens.push(token);
    i = token.end;
  }
  return tokens;
}

/** A statement's tokens and its text from the first token to the last, without the `;`. */
export interface StatementTokens {
  readonly text: string;
  readonly tokens: readonly Token[];
}

/**
 * True while `tokens` are inside the body of `CREATE [TEMP] TRIGGER ... BEGIN ... END`, where
 * `;` ends inner statements, not the trigger. CASE ... END pairs inside the body are counted
 * so their END does not close it.
 */
function insideTriggerBody(tokens: readonly Token[]): boolean {
  const words = tokens.filter((t) => t.kind === 'word').map((t) => t.value);
  const triggerAt = words[1] === 'TEMP' || words[1] === 'TEMPORARY' ? 2 : 1;
  if (words[0] !== 'CREATE' || words[triggerAt] !== 'TRIGGER') return false;
  const begin = words.indexOf('BEGIN');
  if (begin === -1) return false;
  let caseDepth = 0;
  for (const word of words.slice(begin + 1)) {
    if (word === 'CASE') caseDepth++;
    else if (word === 'END') {
      if (caseDepth === 0) return false;
      caseDepth--;
    }
  }
  return true;
}

/** Splits SQL text into statements at top-level semicolons; empty statements are dropped. */
export function splitStatements(sql: string): StatementTokens[] {
  const statements: StatementTokens[] = [];
  let current: Token[] = [];
  const finish = () => {
    if (current.length === 0) return;
    statements.push({ text: sql.slice(current[0]!.start, current[current.length - 1]!.end), tokens: current });
    current = [];
  };
  for (const token of tokenize(sql)) {
    if (token.kind === 'semicolon' && !insideTriggerBody(current)) finish();
    else current.push(token);
  }
  finish();
  return statements;
}
