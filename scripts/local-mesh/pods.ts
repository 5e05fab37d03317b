// Starting the pieces one at a time: a server replica, the proxy. `up` starts them all;
// `rollout restart` and `restart` start one more the same way, so what runs after a restart
// is what `up` would have started.

import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selects } from '../../lib/topology.ts';
import { parseMeshListening, parseServerListening } from '../../lib/readiness.ts';
import { startDetached, waitForLog, type Proc } from './processes.ts';
import type { Endpoint, EndpointTable } from '../../lib/mesh-config.ts';
import { writeProxyConfig } from './endpoint-table.ts';
import { logPath, ROOT, type Paths, type State } from './state.ts';
import { UsageError } from './usage-error.ts';

export const READY_MS = 30_000;

/**
 * The server's own default drain time (DEFAULT_GRACE_MS in apps/server/server.ts), copied
 * rather than imported so the CLI does not load the server's code.
 */
const SERVER_GRACE_MS = 10_000;

/** How long a process may drain on SIGTERM: the GRACE_MS it was started with, else the server's default. */
export function graceOf(x: Proc): number {
  const g = Number(x.env?.GRACE_MS);
  return Number.isFinite(g) && g > 0 ? g : SERVER_GRACE_MS;
}

/**
 * Our programs, the way this module runs: compiled (dist/, scripts/build.mjs; what
 * scripts/local-mesh.mjs runs) it starts their compiled JavaScript, from source (tests) their
 * TypeScript through tsx. dist/ mirrors the source tree, so the same relative path finds them.
 */
const COMPILED = import.meta.url.endsWith('.js');
const program = (app: string) => fileURLToPath(new URL(`../../apps/${app}/main.${COMPILED ? 'js' : 'ts'}`, import.meta.url));

/** Which of our programs an image runs: the image names the Dockerfile target. */
export const PROGRAMS = {
  server: program('server'),
  client: program('client'),
  mesh: program('mesh'),
} as const;

export function programFor(image: string | undefined): 'server' | 'client' | undefined {
  const m = /\/(server|client):[^/]+$/.exec(image ?? '');
  return m ? (m[1] as 'server' | 'client') : undefined;
}

/** Kubernetes-like: the deployment, then a short random suffix. */
export function podName(deployment: string): string {
  return `${deployment}-${randomBytes(4).toString('hex').slice(0, 5)}`;
}

/**
 * V8 flags per program. Servers and client run at the tutorial's tens of calls per second,
 * where V8's optimising compilers buy nothing measurable and cost about 10 MB each
 * (`--lite-mode`; `--no-expose-wasm` only silences the warning that lite mode turns wasm off):
 * bench/memory.ts, BENCHMARKS.md. The proxy keeps them: the latency bench and the drills load it
 * with hundreds of calls per second.
 */
export const NODE_FLAGS: Readonly<Record<keyof typeof PROGRAMS, readonly string[]>> = {
  server: ['--lite-mode', '--no-expose-wasm'],
  client: ['--lite-mode', '--no-expose-wasm'],
  mesh: [],
};

/** Node's arguments that start one of PROGRAMS: its V8 flags, then the compiled file or tsx. */
export function programArgs(file: string): string[] {
  const program = (Object.keys(PROGRAMS) as Array<keyof typeof PROGRAMS>).find((k) => PROGRAMS[k] === file);
  const flags = program ? NODE_FLAGS[program] : [];
  return COMPILED ? [...flags, file] : [...flags, '--import', 'tsx', file];
}

/** A new, empty log for a process name. */
export function freshLog(p: Paths, name: string): string {
  const f = logPath(p, name);
  rmSync(f, { force: true });
  return f;
}

/**
 * A new log for a restarted process; the old one becomes NAME.previous.log (what
 * `kubectl logs --previous` shows). A process still writing to it keeps doing so there.
 */
export function rotateLog(p: Paths, name: string): string {
  const f = logPath(p, name);
  if (existsSync(f)) renameSync(f, join(p.dir, `${name}.previous.log`));
  return f;
}

/**
 * Extra environment from a variable holding `KEY=VALUE KEY=VALUE` (no quoting: values have no
 * spaces), e.g. LOCAL_MESH_CLIENT_ENV='RATE=500 CONCURRENCY=64'. Wins over the manifests.
 */
export function envOverrides(env: NodeJS.ProcessEnv, variable: string): Record<string, string> {
  const text = env[variable]?.trim();
  if (!text) return {};
  const out: Record<string, string> = {};
  for (const word of text.split(/\s+/)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(word);
    if (!m) throw new UsageError(`${variable}: ${JSON.stringify(word)} is not KEY=VALUE (separate pairs with spaces)`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

interface PodSpec {
  name: string;
  deployment: string;
  labels: Record<string, string>;
  env: Record<string, string>;
}

/** Start one server replica on a free loopback port; resolves once it listens. */
export async function startPod(p: Paths, spec: PodSpec, record: (x: Proc) => void): Promise<Proc> {
  const env = { ...spec.env, PORT: '0', HOST: '127.0.0.1' };
  const proc = startDetached({ name: spec.name, args: programArgs(PROGRAMS.server), env, log: freshLog(p, spec.name), cwd: ROOT });
  proc.deployment = spec.deployment;
  proc.labels = spec.labels;
  record(proc);
  proc.port = (await waitForLog(proc, parseServerListening, READY_MS)).port;
  return proc;
}

/** Services -> endpoints by selector over the given replicas (kube-proxy's and Linkerd's view). */
export function servicesFor(s: Pick<State, 'selectors'>, pods: Proc[]): EndpointTable {
  const ready = pods.filter((x) => x.labels && x.port);
  return Object.fromEntries(
    Object.entries(s.selectors ?? {}).map(([svc, sel]) => [
      svc,
      ready.filter((x) => selects(sel, x.labels!)).map((x): Endpoint => ({ address: `127.0.0.1:${x.port}`, pod: x.name })),
    ]),
  );
}

/**
 * Start the proxy with this endpoint table and the splits last applied (a restarted proxy
 * starts with the split that was in force). Port 0: any free one.
 */
export async function startMeshProcess(
  p: Paths,
  s: State,
  services: EndpointTable,
  ports: { port: number; adminPort: number },
  record: (x: Proc) => void,
  log: (p: Paths, name: string) => string = freshLog,
): Promise<{ proc: Proc; adminPort: number }> {
  const args = [...programArgs(PROGRAMS.mesh), '--config', writeProxyConfig(p, services, ports)];
  const manifests = Object.values(s.applied ?? {}).map((a) => a.manifest.replace(/\n*$/, '\n'));
  if (manifests.length > 0) {
    const splitFile = join(p.dir, 'mesh-splits.yaml');
    writeFileSync(splitFile, manifests.join('---\n'));
    args.push('--split', splitFile);
  }
  const mesh = startDetached({ name: 'mesh', args, env: {}, log: log(p, 'mesh'), cwd: ROOT });
  record(mesh);
  const ready = await waitForLog(mesh, parseMeshListening, READY_MS);
  mesh.port = ready.port;
  return { proc: mesh, adminPort: ready.adminPort };
}
