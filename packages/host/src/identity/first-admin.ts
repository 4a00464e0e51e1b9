import { LOGIN_LINK_MS } from './limits.js';
import type { SessionStore } from './sessions.js';
import type { UserStore } from './users.js';

/** The admin `serve` creates on a first start; the operator signs in with a link, then adds real users. */
const FIRST_ADMIN_EMAIL = 'admin@localhost';

/** A single-use link that signs the first admin in; creates that admin the first time it is asked. */
export async function firstAdminSignInLink(users: UserStore, sessions: SessionStore, origin: string): Promise<string> {
  let admin = users.findByEmail(FIRST_ADMIN_EMAIL);
  if (!admin) {
    const added = await users.add({ email: FIRST_ADMIN_EMAIL, name: 'Admin', admin: true });
    if (!added.ok) throw new Error(added.error.message);
    admin = added.value;
  }
  return `${origin}/login/link?code=${sessions.issue('login_link', admin.id, LOGIN_LINK_MS)}`;
}
