/** The signed-in user as the platform vouches for it in `Plinth-User-*` headers. */
export interface PlinthUser {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly roles: readonly string[];
  /** The compact EdDSA JWS from `Plinth-Identity`, verifiable against `<base>/.well-known/jwks.json`. */
  readonly identityToken: string | null;
}

/**
 * The user behind a request, or null when anonymous. Safe to trust: the front
 * door strips every client-sent `Plinth-*` header before setting its own.
 */
export function getUser(request: Request): PlinthUser | null {
  const id = request.headers.get('plinth-user-id');
  if (!id) return null;
  const roles = request.headers.get('plinth-user-roles') ?? '';
  return {
    id,
    name: decodeURIComponent(request.headers.get('plinth-user-name') ?? ''),
    email: request.headers.get('plinth-user-email') ?? '',
    roles: roles ? roles.split(',') : [],
    identityToken: request.headers.get('plinth-identity'),
  };
}

/** The caller's IP: the socket peer, or what a trusted proxy reported. */
export function getClientIp(request: Request): string | null {
  return request.headers.get('plinth-client-ip');
}
