// The SQL bench workload, run unchanged on any D1-shaped database (Plinth's, Miniflare's D1).
// Plain ESM with no imports, so run.mjs can also inline it into a Miniflare script.
export const SEED_ROWS = 1000;
export const BATCH_ROWS = 100;

export async function runWorkload(db, op, n) {
  if (op === 'setup') {
    await db.exec('CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL)');
    const rows = [];
    for (let i = 0; i < SEED_ROWS; i++) rows.push(db.prepare('INSERT INTO items (name, qty) VALUES (?, ?)').bind(`seed-${i}`, i));
    for (let i = 0; i < rows.length; i += BATCH_ROWS) await db.batch(rows.slice(i, i + BATCH_ROWS));
    return { ms: 0, n: SEED_ROWS };
  }
  const started = Date.now();
  if (op === 'read') {
    for (let i = 0; i < n; i++) {
      const row = await db.prepare('SELECT id, name, qty FROM items WHERE id = ?').bind(1 + (i % SEED_ROWS)).first();
      if (!row) throw new Error('a seeded row is missing');
    }
  } else if (op === 'insert') {
    for (let i = 0; i < n; i++) await db.prepare('INSERT INTO items (name, qty) VALUES (?, ?)').bind(`ins-${i}`, i).run();
  } else if (op === 'batch') {
    for (let i = 0; i < n; i++) {
      await db.batch(Array.from({ length: BATCH_ROWS }, (_, k) => db.prepare('INSERT INTO items (name, qty) VALUES (?, ?)').bind(`b-${i}-${k}`, k)));
    }
  } else {
    throw new Error(`unknown op ${op}`);
  }
  return { ms: Date.now() - started, n };
}
