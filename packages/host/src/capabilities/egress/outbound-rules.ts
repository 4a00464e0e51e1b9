/**
 * The manifest's `outbound` list as a matcher. Grammar, per entry:
 * `[http://|https://]host[:port]` or `[scheme]*.domain[:port]`.
 * - `*.example.org` matches any subdomain, not `example.org` itself.
 * - Without a port only the scheme's default port (443, or 80 for http://) is allowed.
 * - Without `http://` only HTTPS is allowed: plain HTTP must be asked for by name.
 */
export interface OutboundRule {
  readonly scheme: 'https:' | 'http:';
  readonly host: string;
  readonly wildcard: boolean;
  readonly port: number;
}

const DEFAULT_PORT = { 'https:': 443, 'http:': 80 } as const;

export function parseOutboundRule(entry: string): OutboundRule {
  const scheme = entry.startsWith('http://') ? 'http:' : 'https:';
  const rest = entry.replace(/^https?:\/\//, '');
  const [hostPart = '', portPart] = rest.split(':');
  const wildcard = hostPart.startsWith('*.');
  return { scheme, wildcard, host: wildcard ? hostPart.slice(2) : hostPart, port: portPart ? Number(portPart) : DEFAULT_PORT[scheme] };
}

export function createOutboundMatcher(entries: readonly string[]) {
  const rules = entries.map(parseOutboundRule);
  /** True when some rule names this scheme, host and port. `host` is lower-case, without brackets. */
  return (url: URL): boolean => {
    const scheme = url.protocol;
    if (scheme !== 'https:' && scheme !== 'http:') return false;
    const port = url.port ? Number(url.port) : DEFAULT_PORT[scheme];
    const host = url.hostname.toLowerCase().replace(/\.$/, '');
    return rules.some((rule) => rule.scheme === scheme && rule.port === port &&
      (rule.wildcard ? host.endsWith(`.${rule.host}`) : host === rule.host));
  };
}
