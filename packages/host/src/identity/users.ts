import { randomUUID, scrypt, timingSafeEqual, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { ControlPlane } from '../store/control-plane.js';
import { fail, ok, type Result } from '../support/result.js';
import { PASSWORD_CHARS_MAX, PASSWORD_CHARS_MIN, SCRYPT_N } from './limits.js';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;
const SCRYPT_PARAMS = { N: SCRYPT_N, r: 8, p: 1, maxmem: 128 * SCRYPT_N * 8 * 2 };

export interface User {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly isAdmin: boolean;
  readonly createdAt: number;
}

/** Any `local@domain`: a self-hosted box has users like admin@localhost, which z.email() refuses. */
export const emailSchema = z.string().max(254).regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address such as ada@example.com');

export const newUserSchema = z.object({
  email: emailSchema,
  name: z.string().min(1).max(200).optional(),
  password: z.string().min(PASSWORD_CHARS_MIN).max(PASSWORD_CHARS_MAX).optional(),
  admin: z.boolean().default(false),
});
export type NewUser = z.infer<typeof newUserSchema>;

export type UserErrorCode = 'users.exists' | 'users.not_found';

interface UserRow { id: string; email: string; name: string; is_admin: number; created_at: number; password_hash: string | null }

function toUser(row: UserRow): User {
  return { id: row.id, email: row.email, name: row.name, isAdmin: row.is_admin === 1, createdAt: row.created_at };
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, 32, SCRYPT_PARAMS);
  return `scrypt$${SCRYPT_N}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, { ...SCRYPT_PARAMS, N: Number(n) });
  return timingSafeEqual(actual, expected);
}

export function createUserStore(db: ControlPlane, now: () => number) {
  const byEmail = db.prepare<[string], UserRow>('SELECT * FROM users WHERE email = ?');
  const byId = db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?');
  // A fixed hash to compare against when the email is unknown, so timing does not reveal which emails exist.
  const decoyHash = hashPassword(randomBytes(16).toString('hex'));

  return {
    async add(input: NewUser): Promise<Result<User, UserErrorCode>> {
      if (byEmail.get(input.email)) return fail('users.exists', `a user with email ${input.email} already exists`);
      const passwordHash = input.password ? await hashPassword(input.password) : null;
      const row: UserRow = {
        id: randomUUID(), email: input.email, name: input.name ?? input.email.split('@')[0]!,
        is_admin: input.admin ? 1 : 0, created_at: now(), password_hash: passwordHash,
      };
      db.prepare('INSERT INTO users (id, email, name, password_hash, is_admin, created_at) VALUES (@id, @email, @name, @password_hash, @is_admin, @created_at)').run(row);
      return ok(toUser(row));
    },
    list(): User[] {
      return db.prepare<[], UserRow>('SELECT * FROM users ORDER BY created_at, email').all().map(toUser);
    },
    get(id: string): User | undefined {
      const row = byId.get(id);
      return row ? toUser(row) : undefined;
    },
    findByEmail(email: string): User | undefined {
      const row = byEmail.get(email);
      return row ? toUser(row) : undefined;
    },
    /** Returns the user only when the password matches; unknown emails cost the same time. */
    async authenticate(email: string, password: string): Promise<User | undefined> {
      const row = byEmail.get(email);
      const matches = await passwordMatches(password, row?.password_hash ?? (await decoyHash));
      return row && row.password_hash && matches ? toUser(row) : undefined;
    },
  };
}
export type UserStore = ReturnType<typeof createUserStore>;
