// Shared pieces of the proxy tests: real demo servers on loopback, greeter clients that dial
// the proxy and name the Service in :authority (as a meshed client does), small waits, and the
// proxy's admin endpoint (metrics, config) read back.

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadGreeter, type HelloReply } from '../../apps/proto/load.ts';
import { startServer, type RunningServer } from '../../apps/server/server.ts';
import { startMesh, type Endpoint, type Mesh } from '../../apps/mesh/mesh.ts';
import type { ConfigView } from '../../apps/mesh/admin.ts';
import { parseMetrics, type Sample } from '../../lib/prometheus.ts';
import { parseServerListening } from '../../lib/readiness.ts';

export type { Sample } from '../../lib/prometheus.ts';

export { trafficSplit } from '../runner/helpers.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const Greeter = loadGreeter();

export interface Replica {
  version: string;
  pod: string;
  server: RunningServer;
  endpoint: Endpoint;
}

/** One in-process demo server per pod name, e.g. replicas('v1', 3) -> server-v1-0..2. */
export async function replicas(version: string, n: number, extra: { latencyMs?: number; maxConnectionAgeMs?: number; podPrefix?: string } = {}): Promise<Replica[]> {
  const { podPrefix = `server-${version}-`, ...faults } = extra;
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const pod = `${podPrefix}${i}`;
      const server = await startServer({ version, pod, host: '127.0.0.1', port: 0, graceMs: 1000, ...faults });
      return { version, pod, server, endpoint: { address: server.address, pod } };
    }),
  );
}

/** The endpoint table a set of replicas gives: server-vN per version plus the apex `server` over all. */
export function serviceTable(all: Replica[]): Record<string, Endpoint[]> {
  const t: Record<string, Endpoint[]> = { server: all.map((r) => r.endpoint) };
  for (const r of all) (t[`server-${r.version}`] ??= []).push(r.endpoint);
  return t;
}

export type GreeterClient = grpc.Client & {
  SayHello: grpc.requestCallback<HelloReply> & ((...a: unknown[]) => grpc.ClientUnaryCall);
  StreamHellos: (...a: unknown[]) => grpc.ClientReadableStream<HelloReply>;
};

/** A client with ONE channel to `address`, asking for `authority` (pick_first unless told). */
export function greeter(address: string, authority?: string, options: grpc.ChannelOptions = {}): GreeterClient {
  const opts: grpc.ChannelOptions = { ...options };
  if (authority) opts['grpc.default_authority'] = authority;
  return new Greeter(address, grpc.credentials.createInsecure(), opts) as unknown as GreeterClient;
}

export function sayHello(c: GreeterClient, opts: { deadlineMs?: number; name?: string; metadata?: grpc.Metadata } = {}): Promise<HelloReply> {
  return new Promise((resolve, reject) => {
    const callOpts: grpc.CallOptions = { deadline: Date.now() + (opts.deadlineMs ?? 5000) };
    c.SayHello({ name: opts.name ?? 'test' }, opts.metadata ?? new grpc.Metadata(), callOpts, (err: grpc.ServiceError | null, reply?: HelloReply) =>
      err ? reject(err) : resolve(reply!),
    );
  });
}

/** Run `total` calls with at most `concurrency` in flight; returns per-call outcomes. */
export async function load<T>(total: number, concurrency: number, call: (i: number) => Promise<T>): Promise<Array<{ ok: true; value: T } | { ok: false; error: grpc.ServiceError }>> {
  const out: Array<{ ok: true; value: T } | { ok: false; error: grpc.ServiceError }> = new Array(total);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        const i = next++;
        try {
          out[i] = { ok: true, value: await call(i) };
        } catch (e) {
          out[i] = { ok: false, error: e as grpc.ServiceError };
        }
      }
    }),
  );
  return out;
}

export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const c: Record<string, number> = {};
  for (const it of items) c[key(it)] = (c[key(it)] ?? 0) + 1;
  return c;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` until it holds; resolves with performance.now() then, so drills can time a recovery. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 20): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
  return performance.now();
}

/**
 * Run `work` while POSTing the manifests in turn to the proxy's /apply, 10 ms apart, each of
 * which must be accepted: how the hitless tests change routes under load.
 */
export async function underApplies<T>(adminPort: number, manifests: readonly string[], work: () => Promise<T>): Promise<{ result: T; applies: number }> {
  let done = false;
  let applies = 0;
  const applier = (async () => {
    while (!done) {
      const res = await fetch(`http://127.0.0.1:${adminPort}/apply`, { method: 'POST', body: manifests[applies % manifests.length]! });
      if (res.status !== 200) throw new Error(`apply refused: ${await res.text()}`);
      applies += 1;
      await sleep(10);
    }
  })();
  try {
    return { result: await work(), applies };
  } finally {
    done = true;
    await applier;
  }
}

// The proxy's admin endpoint, read as the tests and drills need it.

export function sum(samples: Sample[], name: string, where: (l: Record<string, string>) => boolean = () => true): number {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((n, s) => n + s.value, 0);
}

export async function metrics(adminPort: number): Promise<Sample[]> {
  return parseMetrics(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text());
}

export type MeshConfig = ConfigView;

export async function meshConfig(adminPort: number): Promise<MeshConfig> {
  return (await (await fetch(`http://127.0.0.1:${adminPort}/config`)).json()) as MeshConfig;
}

/** True once something accepts TCP connections on the port. */
export function accepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A demo server in its own process (so it can be SIGKILLed), on `port` (0 = free). */
export interface ChildServer {
  child: ChildProcess;
  pid: number;
  port: number;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function childServer(version: string, pod: string, port = 0): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, VERSION: version, POD_NAME: pod, HOST: '127.0.0.1', PORT: String(port), GRACE_MS: '500' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const bound = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      const m = parseServerListening(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(m.port);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server ${pod} exited ${code} before listening: ${err.trim()}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    pid: child.pid!,
    port: bound,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Replicas per version, a proxy in front of them, and a client of `server:50051` through it. */
export interface MeshOver {
  all: Replica[];
  mesh: Mesh;
  c: GreeterClient;
  /** Stops the client, the proxy and the replicas. */
  close(): Promise<void>;
}

export async function meshOver(counts: ReadonlyArray<[version: string, replicas: number]>): Promise<MeshOver> {
  const all: Replica[] = [];
  for (const [v, n] of counts) all.push(...(await replicas(v, n)));
  const mesh = await startMesh({ services: serviceTable(all) });
  const c = greeter(`127.0.0.1:${mesh.port}`, 'server:50051');
  return {
    all,
    mesh,
    c,
    async close() {
      c.close();
      await mesh.close(500);
      await Promise.all(all.map((r) => r.server.shutdown(100)));
    },
  };
}
