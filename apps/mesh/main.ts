// CLI for the local mesh proxy:
//   node --import tsx apps/mesh/main.ts --config mesh.json [--split split.yaml]
// mesh.json: lib/mesh-config.ts (the endpoint table, and the ports when given).
// Prints `mesh listening on 127.0.0.1:PORT admin 127.0.0.1:PORT` once it takes calls.
// SIGTERM/SIGINT: GOAWAY, drain, exit 0. SIGUSR2: stop listening, keep serving open connections.

import { parseArgs } from 'node:util';
import { readText } from '../../lib/read-text.ts';
import { parseMeshConfig } from '../../lib/mesh-config.ts';
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

function readFile(file: string): string {
  return readText(file, fail);
}

function parseFileConfig(text: string): FileConfig {
  const cfg = parseMeshConfig(text);
  parseServices(cfg.services);
  return { ...cfg, services: cfg.services as Record<string, Endpoint[]> };
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
    cfg = parseFileConfig(readFile(args.config));
  } catch (e) {
    fail(`${args.config}: ${(e as Error).message}`);
  }
  const manifests = args.split ? readFile(args.split) : undefined;
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
