import { z } from 'zod';
import { fail, ok, type Result } from '../../support/result.js';
import type { Capability, PlatformCall } from '../capability.js';
import { parseBody } from '../parse-body.js';
import { SQL_BATCH_STATEMENTS_MAX, SQL_STATEMENT_CHARS_MAX, SQL_STATEMENT_MS_MAX, SQL_STATEMENT_MS_MIN, SQL_TRANSACTION_MS_MAX } from './limits.js';
import type { SqlService } from './service.js';
import { wireValueSchema } from './wire-values.js';

const timeoutMs = z.number().int().min(SQL_STATEMENT_MS_MIN).max(SQL_STATEMENT_MS_MAX).optional();
const transaction = z.string().min(1).max(64).optional();
// The text cap is checked again with a precise error by the statement guard; this one only
// stops a huge string before it is copied to the SQL process.
const statement = z.object({ sql: z.string().max(SQL_STATEMENT_CHARS_MAX + 1), params: z.array(wireValueSchema).optional() }).strict();
const createSchema = z.object({ name: z.string() }).strict();
const querySchema = statement.extend({ transaction, timeoutMs, first: z.boolean().optional() }).strict();
const batchSchema = z.object({ statements: z.array(statement).max(SQL_BATCH_STATEMENTS_MAX), transaction, timeoutMs }).strict();
const execSchema = z.object({ sql: z.string().max(SQL_STATEMENT_CHARS_MAX + 1), transaction, timeoutMs }).strict();
const beginSchema = z.object({ timeoutMs: z.number().int().min(SQL_STATEMENT_MS_MIN).max(SQL_TRANSACTION_MS_MAX).optional() }).strict().optional();
const chunkSchema = z.object({ offset: z.number().int().min(0), data: z.base64() }).strict();

const db = (call: PlatformCall) => call.params.db ?? '';

function offsetParam(call: PlatformCall): Result<number, 'platform.bad_request'> {
  const text = call.url.searchParams.get('offset') ?? '0';
  return /^\d{1,15}$/.test(text) ? ok(Number(text)) : fail('platform.bad_request', `offset must be a byte offset, a whole number (got ${JSON.stringify(text)})`);
}

/** `sql`: SQLite databases each app creates, lists and queries, with D1's result shapes (CONTRACT §5). */
export function createSqlCapability(service: SqlService) {
  return {
    name: 'sql',
    routes: {
      'GET /v1/sql': (call) => service.list(call.appId),
      'POST /v1/sql': (call) => {
        const body = parseBody(call, createSchema);
        return body.ok ? service.create(call.appId, body.value.name) : body;
      },
      'GET /v1/sql/:db': (call) => service.info(call.appId, db(call)),
      'DELETE /v1/sql/:db': (call) => service.delete(call.appId, db(call)),
      'POST /v1/sql/:db/query': (call) => {
        const body = parseBody(call, querySchema);
        if (!body.ok) return body;
        const { sql, params, ...options } = body.value;
        return service.query(call.appId, db(call), { sql, params }, { ...options, signal: call.signal });
      },
      'POST /v1/sql/:db/batch': (call) => {
        const body = parseBody(call, batchSchema);
        return body.ok ? service.batch(call.appId, db(call), body.value.statements, { ...body.value, signal: call.signal }) : body;
      },
      'POST /v1/sql/:db/exec': (call) => {
        const body = parseBody(call, execSchema);
        return body.ok ? service.exec(call.appId, db(call), body.value.sql, { ...body.value, signal: call.signal }) : body;
      },
      'POST /v1/sql/:db/transactions': (call) => {
        const body = parseBody(call, beginSchema);
        return body.ok ? service.begin(call.appId, db(call), body.value?.timeoutMs) : body;
      },
      'POST /v1/sql/:db/transactions/:tx/commit': (call) => service.end(call.appId, db(call), call.params.tx ?? '', 'commit'),
      'POST /v1/sql/:db/transactions/:tx/rollback': (call) => service.end(call.appId, db(call), call.params.tx ?? '', 'rollback'),
      'POST /v1/sql/:db/exports': (call) => service.exportStart(call.appId, db(call)),
      'GET /v1/sql/:db/exports/:id': (call) => {
        const offset = offsetParam(call);
        return offset.ok ? service.exportRead(call.appId, db(call), call.params.id ?? '', offset.value) : offset;
      },
      'DELETE /v1/sql/:db/exports/:id': (call) => service.transferEnd(call.appId, db(call), call.params.id ?? '', 'export'),
      'POST /v1/sql/:db/imports': (call) => service.importStart(call.appId, db(call)),
      'PUT /v1/sql/:db/imports/:id': (call) => {
        const body = parseBody(call, chunkSchema);
        return body.ok ? service.importAppend(call.appId, db(call), call.params.id ?? '', body.value.offset, Buffer.from(body.value.data, 'base64')) : body;
      },
      'DELETE /v1/sql/:db/imports/:id': (call) => service.transferEnd(call.appId, db(call), call.params.id ?? '', 'import'),
      'POST /v1/sql/:db/imports/:id/commit': (call) => service.importCommit(call.appId, db(call), call.params.id ?? ''),
    },
  } satisfies Capability;
}
