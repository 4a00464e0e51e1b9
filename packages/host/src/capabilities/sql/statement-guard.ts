/**
 * What an app's SQL may do, checked before SQLite sees it. SQLite's authorizer
 * (`sqlite3_set_authorizer`) would be the natural place, but better-sqlite3 does not bind it,
 * so each statement is tokenized (sql-lexer.ts) and inspected instead. What is refused, and why:
 *
 * - ATTACH and DETACH: ATTACH opens or creates a file at any path the daemon can reach.
 * - VACUUM INTO: writes a copy of the database to any path.
 * - load_extension(): loads native code. SQLite already refuses the SQL function because the
 *   host never enables it (and never calls `db.loadExtension`); this is the second lock.
 * - BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, END: the connection is shared by all of an
 *   app's calls, so a transaction left open by one call would swallow the next; cross-call
 *   transactions go through `POST /v1/sql/:db/transactions` instead.
 * - PRAGMAs outside the allow-list below, and `pragma_*` table functions likewise: the rest
 *   change durability (journal_mode, synchronous), file locations (temp_store_directory), the
 *   size cap (max_page_count), corrupt on purpose (writable_schema) or reveal host paths
 *   (database_list).
 * - Named parameters (`:x`, `@x`, `$x`): D1 binds positional values only.
 */
import { fail, ok, type Result } from '../../support/result.js';
import type { SqlErrorCode } from './errors.js';
import { SQL_BOUND_PARAMETERS_MAX, SQL_STATEMENT_CHARS_MAX } from './limits.js';
import { splitStatements, type StatementTokens, type Token } from './sql-lexer.js';

export interface GuardedStatement {
  /** The text to prepare; `?NNN` parameters are rewritten to plain `?` (see `parameterOrder`). */
  readonly sql: string;
  /** How many values the caller binds: the highest parameter index. */
  readonly parameterCount: number;
  /** For each `?` of `sql`, the 0-based index of the caller's value; null when no rewrite was needed. */
  readonly parameterOrder: readonly number[] | null;
  /** First keyword, after EXPLAIN [QUERY PLAN]. */
  readonly lead: string;
}

/** Introspection PRAGMAs that read only; they may take a table, index or count as argument. */
const PRAGMAS_QUERY = new Set([
  'table_info', 'table_xinfo', 'table_list', 'index_list', 'index_info', 'index_xinfo', 'foreign_key_list',
  'foreign_key_check', 'integrity_check', 'quick_check', 'collation_list', 'function_list', 'module_list',
  'pragma_list', 'compile_options', 'optimize', 'wal_checkpoint', 'shrink_memory',
]);
/** Settings an app may read but not change: the host chose them for durability, size caps and safety. */
const PRAGMAS_READ_ONLY = new Set([
  'data_version', 'schema_version', 'page_count', 'page_size', 'freelist_count', 'encoding', 'journal_mode',
  'synchronous', 'busy_timeout', 'max_page_count', 'auto_vacuum', 'cache_size', 'trusted_schema',
]);
/** Settings that only change how the app's own SQL behaves on its own connection. */
const PRAGMAS_SETTABLE = new Set([
  'foreign_keys', 'defer_foreign_keys', 'recursive_triggers', 'case_sensitive_like', 'ignore_check_constraints',
  'legacy_alter_table', 'reverse_unordered_selects', 'user_version', 'application_id', 'automatic_index',
  'analysis_limit',
]);
const TRANSACTION_WORDS = new Set(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE']);

type GuardResult<T> = Result<T, SqlErrorCode>;

/** A word or quoted identifier's name in lower case, for comparing with SQLite's names. */
function nameOf(token: Token | undefined): string | undefined {
  if (token?.kind === 'word') return token.value.toLowerCase();
  return token?.kind === 'identifier' ? token.value : undefined;
}

function leadIndex(tokens: readonly Token[]): number {
  if (tokens[0]?.value !== 'EXPLAIN') return 0;
  return tokens[1]?.value === 'QUERY' && tokens[2]?.value === 'PLAN' ? 3 : 1;
}

function checkPragma(tokens: readonly Token[], at: number): GuardResult<void> {
  let nameAt = at + 1;
  if (tokens[nameAt + 1]?.value === '.') nameAt += 2; // PRAGMA main.table_info(...)
  const name = nameOf(tokens[nameAt]) ?? '';
  const hasArgument = tokens[nameAt + 1] !== undefined;
  if (PRAGMAS_QUERY.has(name) || PRAGMAS_SETTABLE.has(name)) return ok(undefined);
  if (PRAGMAS_READ_ONLY.has(name)) {
    return hasArgument ? fail('sql.not_authorized', `PRAGMA ${name} may be read but not changed: the platform sets it`) : ok(undefined);
  }
  return fail('sql.not_authorized', `PRAGMA ${name || '(none)'} is not allowed; allowed are ${[...PRAGMAS_QUERY, ...PRAGMAS_READ_ONLY, ...PRAGMAS_SETTABLE].sort().join(', ')}`);
}

/** Refuses what the module comment lists; every other statement goes to SQLite unchanged. */
function checkStatement(tokens: readonly Token[]): GuardResult<string> {
  const at = leadIndex(tokens);
  const lead = tokens[at]?.kind === 'word' ? tokens[at]!.value : '';
  if (lead === 'ATTACH' || lead === 'DETACH') return fail('sql.not_authorized', `${lead} is not allowed: SQL runs on the app's own database file only`);
  if (lead === 'VACUUM' && tokens.some((t) => t.kind === 'word' && t.value === 'INTO')) {
    return fail('sql.not_authorized', 'VACUUM INTO is not allowed: use export() for a copy of the database');
  }
  if (TRANSACTION_WORDS.has(lead)) {
    return fail('sql.transaction_statement', `${lead} is not allowed in a statement: use batch() for all-or-nothing, or db.transaction(async (tx) => ...) across calls`);
  }
  if (lead === 'PRAGMA') {
    const pragma = checkPragma(tokens, at);
    if (!pragma.ok) return pragma;
  }
  for (let i = 0; i < tokens.length; i++) {
    const name = nameOf(tokens[i]);
    if (name === 'load_extension' && tokens[i + 1]?.value === '(') return fail('sql.not_authorized', 'load_extension() is not allowed: extensions are native code');
    if (name?.startsWith('pragma_')) {
      const pragma = name.slice('pragma_'.length);
      if (!PRAGMAS_QUERY.has(pragma) && !PRAGMAS_READ_ONLY.has(pragma) && !PRAGMAS_SETTABLE.has(pragma)) {
        return fail('sql.not_authorized', `the table function ${name} is not allowed`);
      }
    }
  }
  return ok(lead);
}

/**
 * SQLite numbers parameters: `?` takes one more than the highest so far, `?NNN` takes NNN.
 * better-sqlite3 binds an array to plain `?` only, so a text with `?NNN` is rewritten to plain
 * `?` with the caller's values reordered (and repeated) to match.
 */
function parameters(statement: StatementTokens): GuardResult<Pick<GuardedStatement, 'sql' | 'parameterCount' | 'parameterOrder'>> {
  const found = statement.tokens.filter((t) => t.kind === 'parameter');
  const named = found.find((t) => t.value[0] !== '?');
  if (named) return fail('sql.bad_parameters', `named parameter ${named.value} is not supported: use ? or ?NNN and bind values in order`);
  let highest = 0;
  const order: number[] = [];
  for (const token of found) {
    const index = token.value.length > 1 ? Number(token.value.slice(1)) : highest + 1;
    if (!Number.isSafeInteger(index) || index < 1 || index > SQL_BOUND_PARAMETERS_MAX) {
      return fail('sql.bad_parameters', `parameter ${token.value} is out of range: indexes run from 1 to ${SQL_BOUND_PARAMETERS_MAX}`);
    }
    highest = Math.max(highest, index);
    order.push(index - 1);
  }
  if (!found.some((t) => t.value.length > 1)) return ok({ sql: statement.text, parameterCount: highest, parameterOrder: null });
  let sql = '';
  let from = statement.tokens[0]!.start;
  for (const token of found) {
    sql += `${statement.text.slice(from - statement.tokens[0]!.start, token.start - statement.tokens[0]!.start)}?`;
    from = token.end;
  }
  sql += statement.text.slice(from - statement.tokens[0]!.start);
  return ok({ sql, parameterCount: highest, parameterOrder: order });
}

/** Splits `text` into statements and checks each; the whole text is refused if any one is. */
export function guardSql(text: string, statementsMax: number): GuardResult<GuardedStatement[]> {
  if (text.length > SQL_STATEMENT_CHARS_MAX) {
    return fail('sql.statement_too_large', `SQL text is at most ${SQL_STATEMENT_CHARS_MAX} characters (got ${text.length})`);
  }
  const statements = splitStatements(text);
  if (statements.length === 0) return fail('sql.empty_statement', 'the SQL text holds no statement');
  if (statements.length > statementsMax) return fail('sql.statement_too_large', `one call runs at most ${statementsMax} statements (got ${statements.length})`);
  const guarded: GuardedStatement[] = [];
  for (const statement of statements) {
    const lead = checkStatement(statement.tokens);
    if (!lead.ok) return lead;
    const bound = parameters(statement);
    if (!bound.ok) return bound;
    guarded.push({ ...bound.value, lead: lead.value });
  }
  return ok(guarded);
}
