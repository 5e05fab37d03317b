// What the local mesh proxy costs: added latency (p50, p99) at an open-loop rate, proxied
// minus direct, both paths interleaved in the same run against the same server; the most
// calls/s through the proxy against direct at a fixed concurrency; and the time from an apply
// to the first call that follows the new split.
//
//   node --import tsx bench/mesh-overhead.ts [--rate 1000] [--seconds 10] [--concurrency 64]
//        [--cpu-prof DIR]   (profile the proxy process; open the .cpuprofile in Chrome DevTools)
//
// Server, proxy and this client are separate processes sharing the machine's cores.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { openLoop } from '../apps/client/schedule.ts';
import { formatMeshConfig } from '../lib/mesh-config.ts';
import { parseMetrics } from '../lib/prometheus.ts';
import { parseMeshListening, parseServerListening } from '../lib/readiness.ts';
import { programArgs } from './compiled.ts';
import { cpuSeconds, rssMb } from './proc.ts';
import { bucketQuantile, overheadBuckets, subtract } from './prom.ts';
import { applyManifests, emptyTable, parseServices, withServices } from '../apps/mesh/routing-table.ts';
import { loadGreeter, type HelloReply } from '../apps/proto/load.ts';
import { whenReady } from './when-ready.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '64' },
    'cpu-prof': { type: 'string' },
    only: { type: 'string', default: 'latency,throughput,apply' },
    // Run server and proxy from a compiled build (bench/compiled.ts) instead of through tsx.
    compiled: { type: 'string' },
    // `bare`: bench/bare-forwarder.mjs in the proxy's place (throughput only), for the floor
    // of what forwarding through Node's http2 costs per call.
    proxy: { type: 'string', default: 'mesh' },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const PHASES = new Set(args.only.split(','));

const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'mesh-bench-'));

/**
 * Start a program (`file`: one of the project's, compiled or through tsx; a `.mjs` file runs as
 * it is); resolves with what `ready` reads from its output once it reads something (lib/readiness.ts).
 */
function start<T>(name: string, file: string, env: Record<string, string>, ready: (out: string) => T | undefined, nodeArgs: string[] = [], extra: string[] = []): Promise<T> {
  const program = file.endsWith('.mjs') ? [file] : programArgs(file, args.compiled);
  const child = spawn(process.execPath, [...nodeArgs, ...program, ...extra], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return whenReady(name, child, ready);
}

async function stopAll(): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null) return r();
          c.once('exit', () => r());
          c.kill('SIGTERM');
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
}

const Greeter = loadGreeter();
type Client = grpc.Client & { SayHello: (...a: unknown[]) => grpc.ClientUnaryCall };
const client = (target: string, authority?: string) =>
  new Greeter(target, grpc.credentials.createInsecure(), authority ? { 'grpc.default_authority': authority } : {}) as unknown as Client;

function call(c: Client): Promise<HelloReply> {
  return new Promise((res, rej) =>
    c.SayHello({ name: 'bench' }, { deadline: Date.now() + 5000 }, (e: grpc.ServiceError | null, r?: HelloReply) => (e ? rej(e) : res(r!))),
  );
}

/** Microseconds some task waited for a CPU so far (Linux PSI), or NaN where not available. */
function cpuStallUs(): number {
  try {
    return Number(/^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1]);
  } catch {
    return NaN;
  }
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (x: number) => `${x.toFixed(3)} ms`;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/** Both paths at RATE calls/s each, interleaved call by call; latencies per path. */
async function openLoopPair(direct: Client, proxied: Client, seconds: number) {
  const lat = { direct: [] as number[], proxied: [] as number[] };
  let errors = 0;
  let pending = 0;
  let k = 0;
  const one = (c: Client, into: number[]) => {
    const t = performance.now();
    pending += 1;
    call(c).then(
      () => into.push(performance.now() - t),
      () => (errors += 1),
    ).finally(() => (pending -= 1));
  };
  const pacer = openLoop(RATE, () => {
    // Alternate which path goes first, so neither always waits behind the other.
    if (k++ % 2 === 0) {
      one(direct, lat.direct);
      one(proxied, lat.proxied);
    } else {
      one(proxied, lat.proxied);
      one(direct, lat.direct);
    }
  });
  await sleep(seconds * 1000);
  pacer.stop();
  while (pending > 0) await sleep(10);
  lat.direct.sort((a, b) => a - b);
  lat.proxied.sort((a, b) => a - b);
  return { lat, errors, offered: pacer.fired() };
}

/** Calls that failed in the closed loops (deadline exceeded on a starved machine, mostly). */
let closedLoopErrors = 0;

/** Closed loop, CONCURRENCY calls in flight, for `seconds`: completed calls per second. */
async function closedLoop(c: Client, seconds: number): Promise<number> {
  let done = 0;
  let stop = false;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (!stop) {
        // A failed call is counted, not fatal: on a machine shared at a load average of 20 a
        // call can outlive its 5 s deadline, and one such call should not void the run.
        if (await call(c).then(() => true, () => false)) done += 1;
        else closedLoopErrors += 1;
        if (performance.now() - t0 > seconds * 1000) stop = true;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

const split = (v1: number, v2: number) => `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: {name: server-split}
spec:
  service: server
  backends: [{service: server-v1, weight: ${v1}}, {service: server-v2, weight: ${v2}}]
`;

async function main(): Promise<void> {
  const [s1, s2] = await Promise.all(
    ['v1', 'v2'].map((v) => start(`server-${v}`, 'apps/server/main.ts', { VERSION: v, POD_NAME: `server-${v}-0`, HOST: '127.0.0.1', PORT: '0' }, parseServerListening)),
  );
  const v1 = { address: `127.0.0.1:${s1!.port}`, pod: 'server-v1-0' };
  const v2 = { address: `127.0.0.1:${s2!.port}`, pod: 'server-v2-0' };
  writeFileSync(join(dir, 'mesh.json'), formatMeshConfig({ services: { server: [v1, v2], 'server-v1': [v1], 'server-v2': [v2] } }));
  writeFileSync(join(dir, 'split.yaml'), split(100, 0));
  const prof = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(args['cpu-prof'])}`] : [];
  if (process.env.MESH_NODE_ARGS) prof.push(...process.env.MESH_NODE_ARGS.split(' '));
  const m =
    args.proxy === 'bare'
      ? await start('bare forwarder', 'bench/bare-forwarder.mjs', {}, parseMeshListening, prof, [v1.address])
      : await start('mesh', 'apps/mesh/main.ts', {}, parseMeshListening, prof, ['--config', join(dir, 'mesh.json'), '--split', join(dir, 'split.yaml')]);
  const [proxyPort, adminPort] = [m.port, m.adminPort];
  const direct = client(v1.address);
  const proxied = client(`127.0.0.1:${proxyPort}`, 'server:50051');
  const result: Record<string, unknown> = { rate: RATE, seconds: SECONDS, concurrency: CONCURRENCY, node: process.version };
  const stall0 = cpuStallUs();
  const wall0 = performance.now();

  // Warm both paths (JIT, connections) before measuring.
  await openLoopPair(direct, proxied, 2);
  if (PHASES.has('latency')) {
    const pids = { client: process.pid, server: children[0]!.pid!, mesh: children.at(-1)!.pid! };
    const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const warm = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const t0 = performance.now();
    await latencyPhase(direct, proxied, result);
    const secs = (performance.now() - t0) / 1000;
    const busy = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, Math.round((100 * (cpuSeconds(pid) - before[k]!)) / secs)]));
    console.log(`  CPU during the latency run (% of one core): ${Object.entries(busy).map(([k, v]) => `${k} ${v}%`).join(', ')}`);
    Object.assign(result, { latencyCpuPercent: busy });
    const loop = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    // The proxy's own time per call over the latency run alone (after minus before the run).
    const own = Object.fromEntries(
      (['request', 'response'] as const).map((leg) => {
        const h = subtract(overheadBuckets(loop, leg), overheadBuckets(warm, leg));
        return [leg, { p50: bucketQuantile(h, 0.5), p99: bucketQuantile(h, 0.99), n: h.at(-1)?.[1] ?? 0 }];
      }),
    );
    console.log(`  proxy's own time per call (in process, from /metrics): request p50 ${ms(own.request!.p50)} p99 ${ms(own.request!.p99)}; response p50 ${ms(own.response!.p50)} p99 ${ms(own.response!.p99)}`);
    Object.assign(result, { proxyOwnMs: own });
    const samples = parseMetrics(loop);
    const q = (k: string) => Number(samples.find((x) => x.name === 'mesh_event_loop_delay_ms' && x.labels.quantile === k)?.value);
    console.log(`  proxy event-loop delay since it started: p50 ${ms(q('0.5'))}, p99 ${ms(q('0.99'))}, p99.9 ${ms(q('0.999'))}`);
    Object.assign(result, { proxyEventLoopDelayMs: { p50: q('0.5'), p99: q('0.99'), p999: q('0.999') } });
  }
  if (PHASES.has('throughput')) await throughputPhase(direct, proxied, result);
  result.proxyRssMb = rssMb(children.at(-1)!.pid!);
  if (PHASES.has('apply')) await applyPhase(proxied, adminPort, result);
  direct.close();
  proxied.close();
  // How crowded the machine was (our own processes included): share of the time some task
  // was waiting for a CPU. High values make every latency here longer and noisier.
  const stallShare = (cpuStallUs() - stall0) / 1000 / (performance.now() - wall0);
  console.log(`CPU pressure during the run: some task waited for a CPU ${(100 * stallShare).toFixed(0)}% of the time`);
  result.cpuPressure = stallShare;
  console.log(JSON.stringify(result));
}

async function latencyPhase(direct: Client, proxied: Client, result: Record<string, unknown>): Promise<void> {
  const { lat, errors, offered } = await openLoopPair(direct, proxied, SECONDS);
  const row = (name: string, xs: number[]) => ({ name, n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: xs.at(-1) ?? NaN });
  const d = row('direct', lat.direct);
  const p = row('proxied', lat.proxied);
  console.log(`latency at ${RATE} calls/s per path, open loop, ${SECONDS} s, interleaved (${offered} ticks, ${errors} errors)`);
  for (const r of [d, p]) console.log(`  ${r.name.padEnd(8)} n=${r.n} p50=${ms(r.p50)} p99=${ms(r.p99)} max=${ms(r.max)}`);
  console.log(`  added    p50=${ms(p.p50 - d.p50)} p99=${ms(p.p99 - d.p99)}`);
  Object.assign(result, { latency: { direct: d, proxied: p, addedP50: p.p50 - d.p50, addedP99: p.p99 - d.p99, errors } });
}

async function throughputPhase(direct: Client, proxied: Client, result: Record<string, unknown>): Promise<void> {
  // Alternate paths so drift (other load on the machine) hits both alike. CPU seconds per call
  // of each process are less disturbed by other load than rates are: they say what a call costs.
  const pids = { client: process.pid, server: children[0]!.pid!, mesh: children.at(-1)!.pid! };
  const rounds = { direct: [] as number[], proxied: [] as number[] };
  const cpu = { direct: { client: 0, server: 0, mesh: 0, calls: 0 }, proxied: { client: 0, server: 0, mesh: 0, calls: 0 } };
  const measure = async (path: 'direct' | 'proxied', c: Client) => {
    const c0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const t0 = performance.now();
    const rate = await closedLoop(c, 4);
    const acc = cpu[path];
    acc.calls += (rate * (performance.now() - t0)) / 1000;
    for (const [k, pid] of Object.entries(pids) as Array<[keyof typeof pids, number]>) acc[k] += cpuSeconds(pid) - c0[k]!;
    rounds[path].push(rate);
  };
  for (let i = 0; i < 2; i++) {
    await measure('direct', direct);
    await measure('proxied', proxied);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [td, tp] = [mean(rounds.direct), mean(rounds.proxied)];
  console.log(`throughput at concurrency ${CONCURRENCY}, closed loop: direct ${td.toFixed(0)} calls/s, proxied ${tp.toFixed(0)} calls/s, ratio ${(tp / td).toFixed(2)}`);
  const us = (path: 'direct' | 'proxied') =>
    Object.fromEntries((['client', 'server', 'mesh'] as const).map((k) => [k, Math.round((cpu[path][k] / cpu[path].calls) * 1e6)])) as Record<'client' | 'server' | 'mesh', number>;
  const [ud, up] = [us('direct'), us('proxied')];
  const total = (u: Record<string, number>) => u.client! + u.server! + u.mesh!;
  console.log(`  CPU per call (µs, user + system): direct client ${ud.client} + server ${ud.server} = ${total(ud)}; proxied client ${up.client} + server ${up.server} + proxy ${up.mesh} = ${total(up)}`);
  console.log(`  if CPU-bound, the ratio would be ${(total(ud) / total(up)).toFixed(2)}`);
  if (closedLoopErrors) console.log(`  ${closedLoopErrors} call(s) failed in the closed loops`);
  Object.assign(result, { throughput: { direct: td, proxied: tp, ratio: tp / td, rounds, cpuUsPerCall: { direct: ud, proxied: up }, errors: closedLoopErrors } });
}

async function applyPhase(proxied: Client, adminPort: number, result: Record<string, unknown>): Promise<void> {
  // A trickle of calls (4 in flight) runs while each apply flips 100/0 <-> 0/100. We time from
  // sending the POST to the first reply from the new version (a call that started after the
  // POST was sent), and count calls that started after the POST was answered yet still went
  // to the old version (the promise is: none).
  const applyTimes: number[] = [];
  const rtt: number[] = [];
  let stale = 0;
  let after = 0;
  for (let i = 0; i < 20; i++) {
    const target = i % 2 === 0 ? 'v2' : 'v1';
    const calls: Array<{ started: number; ended: number; version: string }> = [];
    let stop = false;
    const workers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const started = performance.now();
        const r = await call(proxied).catch(() => undefined);
        if (r) calls.push({ started, ended: performance.now(), version: r.version });
        else closedLoopErrors += 1;
      }
    });
    await sleep(50);
    const sentAt = performance.now();
    const res = await fetch(`http://127.0.0.1:${adminPort}/apply`, { method: 'POST', body: target === 'v2' ? split(0, 100) : split(100, 0) });
    const answeredAt = performance.now();
    rtt.push(answeredAt - sentAt);
    if (!res.ok) throw new Error(`apply failed: ${await res.text()}`);
    await sleep(50);
    stop = true;
    await Promise.all(workers);
    const firstEnd = Math.min(...calls.filter((c) => c.started >= sentAt && c.version === target).map((c) => c.ended));
    applyTimes.push(firstEnd - sentAt);
    const later = calls.filter((c) => c.started >= answeredAt);
    after += later.length;
    stale += later.filter((c) => c.version !== target).length;
  }
  applyTimes.sort((a, b) => a - b);
  rtt.sort((a, b) => a - b);
  console.log(`apply -> first call on the new split (20 applies): median ${ms(pct(applyTimes, 50))}, max ${ms(applyTimes.at(-1)!)} (the POST /apply round trip alone: median ${ms(pct(rtt, 50))})`);
  console.log(`  calls started after the POST was answered: ${after}, on the old split: ${stale}`);
  // The apply itself (parse, validate, swap the table), without HTTP: in this process.
  let table = withServices(emptyTable(), parseServices({ server: [], 'server-v1': [], 'server-v2': [] }));
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) table = applyManifests(table, split(i % 101, 100 - (i % 101))).table;
  const inProcessUs = ((performance.now() - t0) / 1000) * 1000;
  console.log(`  apply in process (parse + validate + swap): ${inProcessUs.toFixed(0)} µs`);
  Object.assign(result, { apply: { medianMs: pct(applyTimes, 50), maxMs: applyTimes.at(-1), postRoundTripMedianMs: pct(rtt, 50), inProcessUs, callsAfterAnswer: after, staleCalls: stale } });
}

try {
  await main();
} finally {
  await stopAll();
}
