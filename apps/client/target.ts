// What SERVER_ADDR may be: the gRPC name syntax grpc-js resolves. grpc-js itself accepts any
// string and, for one it cannot resolve (say `foo:bar:baz`), retries for ever; checking the
// form at start-up turns that into one line and exit 2.
// https://github.com/grpc/grpc/blob/master/doc/naming.md
import { isIPv4, isIPv6 } from 'node:net';

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;

function isPort(p: string): boolean {
  return /^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65535;
}

/** host, host:port, [v6], [v6]:port; host a DNS name or an IPv4 address. */
function isHostPort(s: string): boolean {
  const v6 = bracketed(s);
  if (v6 !== undefined) return v6;
  const colon = s.lastIndexOf(':');
  const host = colon < 0 ? s : s.slice(0, colon);
  if (colon >= 0 && !isPort(s.slice(colon + 1))) return false;
  return isIPv4(host) || DNS_NAME.test(host);
}

/** [v6] or [v6]:port, or undefined when `s` is not bracketed. */
function bracketed(s: string): boolean | undefined {
  const m = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  return m ? isIPv6(m[1]!) && (m[2] === undefined || isPort(m[2])) : undefined;
}

/** One address of an ipv4:/ipv6: list, with a port or without (a v6 one with a port in brackets). */
function isAddress(a: string, family: 4 | 6): boolean {
  if (family === 6) return bracketed(a) ?? isIPv6(a);
  const colon = a.lastIndexOf(':');
  return colon < 0 ? isIPv4(a) : isIPv4(a.slice(0, colon)) && isPort(a.slice(colon + 1));
}

export function isGrpcTarget(target: string): boolean {
  if (/\s/.test(target) || target === '') return false;
  const scheme = /^(dns|ipv4|ipv6|unix):(.*)$/.exec(target);
  if (!scheme) return isHostPort(target);
  const name = scheme[1]!;
  const rest = scheme[2]!;
  switch (name) {
    case 'dns': {
      // dns:host:port, dns:///host:port, dns://authority/host:port
      const m = /^\/\/[^/]*\/(.*)$/.exec(rest);
      return isHostPort(m ? m[1]! : rest);
    }
    case 'ipv4':
    case 'ipv6':
      return rest.split(',').every((a) => isAddress(a, name === 'ipv4' ? 4 : 6));
    default:
      return rest.length > 0;
  }
}
