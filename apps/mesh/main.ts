// CLI for the local mesh proxy:
//   node --import tsx apps/mesh/main.ts --config mesh.json [--split split.yaml]
// mesh.json: { "services": { "server": [{ "address": "127.0.0.1:P", "pod": "server-v1-x" }], ... },
//              "listen"?: PORT | "127.0.0.1:PORT", "admin"?: PORT }
// Prints `mesh listening on 127.0.0.1:PORT admin 127.0.0.1:PORT` once it takes calls.
// SIGTERM/SIGINT: GOAWAY, drain, exit 0. SIGUSR2: stop listening, keep serving open connections.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { meshListening } from '../../lib/readiness.ts';
import { ConfigError, startMesh, type Endpoint } from './mesh.ts';
import { parseServices } from './routing-table.ts';

interface FileConfig {
  services: Record<string, Endpoint[]>;
  host: string;
  port: number;
  adminPort: number;
}

function fail(message: string): never {
  process.stderr.write(`mesh: ${message}\n`);
  process.exit(2);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    fail(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

function port(v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new ConfigError(`${what} must be a port number 0-65535, got ${JSON.stringify(v)}`);
  return v;
}

function parseFileConfig(text: string): FileConfig {
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
  parseServices(o.services);
  return { services: o.services as Record<string, Endpoint[]>, host, port: port(listen, 'listen'), adminPort: port(o.admin, 'admin') };
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({ options: { config: { type: 'string' }, split: { type: 'string' } }, strict: true }).values;
  } catch (e) {
    fail(`${(e as Error).message}\nusage: main.ts --config FILE [--split FILE]`);
  }
  if (!args.config) fail('usage: main.ts --config FILE [--split FILE]');
  let cfg: FileConfig;
  try {
    cfg = parseFileConfig(readText(args.config));
  } catch (e) {
    fail(`${args.config}: ${(e as Error).message}`);
  }
  const manifests = args.split ? readText(args.split) : undefined;
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  let mesh;
  try {
    mesh = await startMesh({ ...cfg, manifests, log });
  } catch (e) {
    fail(`${e instanceof ConfigError && args.split ? `${args.split}: ` : ''}${(e as Error).message}`);
  }
  process.stdout.write(`${meshListening({ host: cfg.host, port: mesh.port, adminPort: mesh.adminPort })}\n`);
  let closing = false;
  const stop = (sig: string) => {
    if (closing) return;
    closing = true;
    log(`${sig}: draining`);
    void mesh.close(5000).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A hand-over (local-mesh restart mesh): free the ports for the next proxy, keep serving the
  // connections already open until SIGTERM, so the client reconnects only once its successor listens.
  process.on('SIGUSR2', () => {
    if (!closing) void mesh.stopListening();
  });
}

await main();
