// The proxy's config file (`apps/mesh/main.ts --config FILE`): its endpoint table and, when
// given, the ports it listens on. One type, one reader (the proxy's) and one writer
// (local-mesh's), so what local-mesh writes is what the proxy reads.
//
//   { "services": { "server": [{ "address": "127.0.0.1:P", "pod": "server-v1-x" }], ... },
//     "listen"?: PORT | "HOST:PORT", "admin"?: PORT }

import { ConfigError } from './config.ts';

export interface Endpoint {
  /** host:port the proxy dials. */
  address: string;
  /** Pod name, for labels and /config (a replica's identity; the address is the key). */
  pod: string;
}

/** Service name -> its endpoints (list the apex too: its Service selects every version). */
export type EndpointTable = Record<string, Endpoint[]>;

export interface MeshConfigFile {
  services: EndpointTable;
  listen?: number | string;
  admin?: number;
}

/** The file as the proxy starts from it; `services` still to be checked (routing-table.ts parseServices). */
export interface MeshConfig {
  services: unknown;
  host: string;
  port: number;
  adminPort: number;
}

function port(v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new ConfigError(`${what} must be a port number 0-65535, got ${JSON.stringify(v)}`);
  return v;
}

/** Read the file's text; a bad one is a ConfigError of one line (the caller names the file). */
export function parseMeshConfig(text: string): MeshConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`not JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('must be a JSON object with "services"');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['services', 'listen', 'admin'].includes(k)) throw new ConfigError(`unknown key ${JSON.stringify(k)} (expected services, listen, admin)`);
  if (o.services === undefined) throw new ConfigError('"services" is missing');
  let host = '127.0.0.1';
  let listen = o.listen;
  if (typeof listen === 'string') {
    const m = /^(.+):(\d+)$/.exec(listen);
    if (!m) throw new ConfigError(`listen must be PORT or "HOST:PORT", got ${JSON.stringify(listen)}`);
    host = m[1]!;
    listen = Number(m[2]);
  }
  return { services: o.services, host, port: port(listen, 'listen'), adminPort: port(o.admin, 'admin') };
}

/** The file's text; a port of 0 is left out (the proxy takes any free one). */
export function formatMeshConfig(cfg: MeshConfigFile): string {
  const { services, listen, admin } = cfg;
  return JSON.stringify({ services, ...(listen ? { listen } : {}), ...(admin ? { admin } : {}) }, null, 2) + '\n';
}
