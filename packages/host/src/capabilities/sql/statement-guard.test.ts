import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SQL_STATEMENT_CHARS_MAX } from './limits.js';
import { splitStatements } from './sql-lexer.js';
import { guardSql } from './statement-guard.js';

const codeOf = (sql: string) => {
  const result = guardSql(sql, 100);
  return result.ok ? 'ok' : result.error.code;
};

describe('sql lexer', () => {
  test('splits at top-level semicolons only, not inside strings, identifiers, comments or trigger bodies', () => {
    const texts = splitStatements(`
      INSERT INTO t VALUES ('a;b', "c;d", [e;f], \`g;h\`); -- one; still a comment
      /* ; */ SELECT 1;;
      CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET x = CASE WHEN 1 THEN 2 END; DELETE FROM u;
      END;
      SELECT 'it''s'`).map((s) => s.text);
    assert.equal(texts.length, 4);
    assert.equal(texts[0], `INSERT INTO t VALUES ('a;b', "c;d", [e;f], \`g;h\`)`);
    assert.equal(texts[1], 'SELECT 1');
    assert.match(texts[2]!, /^CREATE TEMP TRIGGER[\s\S]*DELETE FROM u;\s+END$/);
    assert.equal(texts[3], "SELECT 'it''s'");
  });

  test('an unterminated string swallows the rest instead of ending a statement', () => {
    assert.equal(splitStatements("SELECT 'x; ATTACH 'y' AS z").length, 1);
  });
});

describe('statement guard', () => {
  test('refuses ATTACH, DETACH, VACUUM INTO and load_extension however they are spelled', () => {
    for (const sql of [
      "ATTACH '/etc/passwd' AS p", "attach database ':memory:' as m", "  /* x */ Attach 'a' as b", 'DETACH p',
      "EXPLAIN ATTACH 'x' AS y", "VACUUM INTO '/tmp/copy.db'", "vacuum main into '/tmp/x'",
      "SELECT load_extension('/tmp/evil.so')", 'SELECT "LOAD_EXTENSION"(\'x\')', 'select [load_extension] (1)',
      "SELECT 1; ATTACH 'x' AS y",
    ]) assert.equal(codeOf(sql), 'sql.not_authorized', sql);
    assert.equal(codeOf('VACUUM'), 'ok');
    assert.equal(codeOf("SELECT 'ATTACH ''x'' AS y', 'load_extension(1)'"), 'ok');
    assert.equal(codeOf('SELECT load_extension FROM t'), 'ok'); // a column, not the function
  });

  test('PRAGMAs: introspection and app settings pass, file and durability settings do not', () => {
    for (const sql of ['PRAGMA table_info(users)', 'PRAGMA main.index_list("t")', 'PRAGMA foreign_keys = OFF', 'PRAGMA user_version = 7', 'PRAGMA integrity_check', 'PRAGMA journal_mode', 'PRAGMA defer_foreign_keys = on', "SELECT * FROM pragma_table_info('t')"]) {
      assert.equal(codeOf(sql), 'ok', sql);
    }
    for (const sql of ['PRAGMA journal_mode = DELETE', 'PRAGMA synchronous = OFF', "PRAGMA temp_store_directory = '/tmp'", 'PRAGMA writable_schema = ON', 'PRAGMA max_page_count = 1000000000', 'PRAGMA database_list', 'SELECT * FROM pragma_database_list', 'PRAGMA "mmap_size" = 1', 'PRAGMA']) {
      assert.equal(codeOf(sql), 'sql.not_authorized', sql);
    }
  });

  test('transaction statements are refused with a pointer to batch() and transaction()', () => {
    for (const sql of ['BEGIN', 'begin immediate', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT a', 'RELEASE a']) {
      assert.equal(codeOf(sql), 'sql.transaction_statement', sql);
    }
    assert.equal(codeOf('CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END'), 'ok');
  });

  test('?NNN parameters are rewritten to plain ? with the values reordered', () => {
    const result = guardSql('SELECT ?2 AS b, ?1 AS a, ?2, ? AS c', 1);
    assert.ok(result.ok);
    assert.deepEqual(result.value[0], { sql: 'SELECT ? AS b, ? AS a, ?, ? AS c', parameterCount: 3, parameterOrder: [1, 0, 1, 2], lead: 'SELECT' });
    const plain = guardSql('SELECT ?, ?', 1);
    assert.ok(plain.ok);
    assert.deepEqual([plain.value[0]!.parameterCount, plain.value[0]!.parameterOrder], [2, null]);
    assert.equal(codeOf('SELECT :name'), 'sql.bad_parameters');
    assert.equal(codeOf('SELECT ?0'), 'sql.bad_parameters');
    assert.equal(codeOf('SELECT ?32767'), 'sql.bad_parameters');
  });

  test('text at the length cap passes, one character more does not; empty text is refused', () => {
    const atCap = `SELECT '${'x'.repeat(SQL_STATEMENT_CHARS_MAX - 9)}'`;
    assert.equal(atCap.length, SQL_STATEMENT_CHARS_MAX);
    assert.equal(codeOf(atCap), 'ok');
    assert.equal(codeOf(`${atCap} `), 'sql.statement_too_large');
    assert.equal(codeOf('  -- nothing\n ;; '), 'sql.empty_statement');
    assert.equal(guardSql('SELECT 1; SELECT 2; SELECT 3', 2).ok, false);
  });
});
