import assert from 'node:assert/strict';

/** What the edge needs to know about one error code: its HTTP status and, where there is one, what fixes it. */
export interface ErrorRow {
  readonly status: number;
  /** The fix column of the owner's README, for an operator or app author reading the code. */
  readonly fix?: string;
}

/**
 * One owner's codes (STYLE §6). Declare a table as `{...} satisfies ErrorTable<XErrorCode>` so
 * the compiler refuses a code without a status, and a row for a code the owner does not return.
 */
export type ErrorTable<Code extends string> = { readonly [C in Code]: ErrorRow };

/**
 * The tables of every owner as one map. A code two owners share (`app.not_found`) must have the
 * same status in both: a disagreement is a bug, caught when the module loads.
 */
export function mergeErrorTables(tables: readonly Readonly<Record<string, ErrorRow>>[]): ReadonlyMap<string, ErrorRow> {
  const merged = new Map<string, ErrorRow>();
  for (const table of tables) {
    for (const [code, row] of Object.entries(table)) {
      const earlier = merged.get(code);
      assert(earlier === undefined || earlier.status === row.status, `${code} has status ${earlier?.status} in one errors table and ${row.status} in another`);
      if (!earlier) merged.set(code, row);
    }
  }
  return merged;
}
