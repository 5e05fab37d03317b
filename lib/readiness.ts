// The readiness lines: what a program prints once it accepts connections, and what
// local-mesh (and the tests) wait for in its log. A contract like the summary line
// (lib/summary.ts), so both sides are written here, once.
//
// server: `... listening on HOST:PORT ...` (within its start-up line, which says more);
// mesh:   `mesh listening on HOST:PORT admin 127.0.0.1:PORT` (a line of its own);
// client: its first summary line (lib/summary.ts): calls went out and their answers came back.

import { parseSummaryLine, type Summary } from './summary.ts';

export interface Listening {
  host: string;
  port: number;
}

export interface MeshListening extends Listening {
  adminPort: number;
}

/** The part of the server's start-up line readers find: `listening on 127.0.0.1:50051`. */
export function serverListening(address: string): string {
  return `listening on ${address}`;
}

const SERVER = /listening on (\S+):(\d+)/;

/** Where the server listens, from the first readiness line in `text` (a whole log, or a line). */
export function parseServerListening(text: string): Listening | undefined {
  const m = SERVER.exec(text);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

/** The proxy's readiness line (the admin endpoint is loopback only, whatever the proxy listens on). */
export function meshListening(m: MeshListening): string {
  return `mesh listening on ${m.host}:${m.port} admin 127.0.0.1:${m.adminPort}`;
}

const MESH = /mesh listening on (\S+):(\d+) admin 127\.0\.0\.1:(\d+)/;

export function parseMeshListening(text: string): MeshListening | undefined {
  const m = MESH.exec(text);
  return m ? { host: m[1]!, port: Number(m[2]), adminPort: Number(m[3]) } : undefined;
}

/** The client's first summary in `text` (a whole log: summaries among other lines). */
export function parseClientReady(text: string): Summary | undefined {
  for (const line of text.split('\n')) {
    const s = parseSummaryLine(line);
    if (s) return s;
  }
  return undefined;
}
