// Resident memory of the whole local demo: every server replica the manifests ask for, the
// proxy and the client, at the client's rate from deploy/linkerd/client.yaml (the tutorial's
// 20 calls/s), read from /proc after SETTLE seconds.
//
//   node --import tsx bench/memory.ts [--settle 15] [--compiled DIR] [--node-args '...']
//
// Default: `local-mesh up` as it is (whatever it starts: through tsx today, compiled once the
// build lands), each process counted with everything in its process group (tsx's esbuild
// service included). With --compiled DIR (a build, see bench/compiled.ts): the same processes
// with the same environment and V8 flags (NODE_FLAGS; --no-flags leaves them out), started here
// from DIR/apps/*/main.js, with --node-args added before the file. RSS counts the pages each process shares with the others (Node's own code) in every
// one of them; PSS splits shared pages between their users, so PSS sums to what the machine
// really spends.

import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatMeshConfig } from '../lib/mesh-config.ts';
import { parseClientReady, parseMeshListening, parseServerListening } from '../lib/readiness.ts';
import { manifestFiles, podEnv, readTopology } from '../lib/topology.ts';
import { NODE_FLAGS, programFor, servicesFor } from '../scripts/local-mesh/pods.ts';
import type { Proc } from '../scripts/local-mesh/processes.ts';
import { loadState, paths } from '../scripts/local-mesh/state.ts';
import { cpuSeconds, rssKb } from './proc.ts';
import { whenReady } from './when-ready.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    settle: { type: 'string', default: '15' },
    compiled: { type: 'string' },
    // With --compiled: leave out the V8 flags local-mesh gives each program (NODE_FLAGS), to compare.
    'no-flags': { type: 'boolean' },
    'node-args': { type: 'string', default: '' },
    'client-env': { type: 'string', default: '' },
  },
});
const SETTLE_S = Number(args.settle);

export interface ProcMemory {
  name: string;
  rssMb: number;
  pssMb: number;
  /** CPU used over the settle time, % of one core (what a memory trade costs in time). */
  cpuPct?: number;
}

function kb(file: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(file, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Pids in process group `pgid` (Linux /proc). */
function group(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // Fields after the command name, which may hold spaces: state, ppid, pgrp, ...
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(f[2]) === pgid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** RSS and PSS of a process plus, with `withGroup`, the rest of its process group, MB. */
export function memoryOf(name: string, pid: number, withGroup: boolean): ProcMemory {
  const pids = withGroup ? [...new Set([pid, ...group(pid)])] : [pid];
  let rss = 0;
  let pss = 0;
  for (const p of pids) {
    try {
      rss += rssKb(p) ?? 0;
      pss += kb(`/proc/${p}/smaps_rollup`, 'Pss');
    } catch {
      // exited
    }
  }
  return { name, rssMb: rss / 1024, pssMb: pss / 1024 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `local-mesh up` as it is; memory of each process it recorded, with its process group. */
async function viaLocalMesh(): Promise<ProcMemory[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-mem-'));
  const lm = (...argv: string[]) => execFileSync(process.execPath, [path.join(ROOT, 'scripts/local-mesh.mjs'), ...argv], { cwd: ROOT, env: { ...process.env, LOCAL_MESH_DIR: dir }, encoding: 'utf8' });
  try {
    lm('up');
    await sleep(SETTLE_S * 1000);
    const state = loadState(paths({ ...process.env, LOCAL_MESH_DIR: dir }))!;
    return state.processes.map((x) => memoryOf(x.name, x.pid, true));
  } finally {
    try {
      lm('down');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** The same processes from a compiled build, started here. */
async function compiled(dist: string, nodeArgs: string[], clientEnv: Record<string, string>): Promise<ProcMemory[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-mem-'));
  const children: Array<{ name: string; child: ChildProcess }> = [];
  /** Start one of the apps; resolves once `ready` reads its readiness line (bench/when-ready.ts). */
  const start = <T>(name: string, program: keyof typeof NODE_FLAGS, env: Record<string, string>, extra: string[], ready: (out: string) => T | undefined): Promise<T> => {
    const flags = [...(args['no-flags'] ? [] : NODE_FLAGS[program]), ...nodeArgs];
    const child = spawn(process.execPath, [...flags, path.join(dist, 'apps', program, 'main.js'), ...extra], { cwd: dist, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push({ name, child });
    return whenReady(name, child, ready);
  };
  try {
    const topo = readTopology(manifestFiles(path.join(ROOT, 'deploy', 'linkerd')));
    const pods: Proc[] = [];
    await Promise.all(
      topo.workloads
        .filter((w) => programFor(w.container.image) === 'server')
        .flatMap((w) =>
          Array.from({ length: w.replicas }, async (_, i) => {
            const name = `${w.name}-${i}`;
            const { port } = await start(name, 'server', { ...podEnv(w, name), HOST: '127.0.0.1', PORT: '0' }, [], parseServerListening);
            pods.push({ name, pid: 0, mark: '', log: '', port, labels: w.labels });
          }),
        ),
    );
    const services = servicesFor({ selectors: Object.fromEntries(topo.services.map((s) => [s.name, s.selector])) }, pods);
    writeFileSync(path.join(dir, 'mesh.json'), formatMeshConfig({ services }));
    const mesh = await start('mesh', 'mesh', {}, ['--config', path.join(dir, 'mesh.json'), '--split', path.join(ROOT, 'deploy/linkerd/server-split.yaml')], parseMeshListening);
    const client = topo.workloads.find((w) => programFor(w.container.image) === 'client')!;
    const cenv = podEnv(client, 'client-0');
    await start('client', 'client', { ...cenv, ...clientEnv, SERVER_ADDR: `127.0.0.1:${mesh.port}`, AUTHORITY: cenv.SERVER_ADDR ?? 'server:50051', LOG_FORMAT: 'json' }, [], parseClientReady);
    const cpu0 = children.map(({ child }) => cpuSeconds(child.pid!));
    const t0 = performance.now();
    await sleep(SETTLE_S * 1000);
    const secs = (performance.now() - t0) / 1000;
    return children.map(({ name, child }, i) => ({ ...memoryOf(name, child.pid!, false), cpuPct: (100 * (cpuSeconds(child.pid!) - cpu0[i]!)) / secs }));
  } finally {
    await Promise.all(
      children.map(
        ({ child }) =>
          new Promise<void>((r) => {
            if (child.exitCode !== null || child.signalCode !== null) return r();
            child.once('exit', () => r());
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Totals, and the largest of each kind of process. */
export function summarizeMemory(procs: ProcMemory[]) {
  const kind = (n: string) => (n === 'mesh' ? 'proxy' : n.startsWith('client') ? 'client' : 'server');
  const most = (k: string, f: 'rssMb' | 'pssMb') => Math.max(...procs.filter((p) => kind(p.name) === k).map((p) => p[f]));
  const sum = (f: 'rssMb' | 'pssMb') => procs.reduce((n, p) => n + p[f], 0);
  return {
    processes: procs.length,
    totalRssMb: sum('rssMb'),
    totalPssMb: sum('pssMb'),
    rssMb: { proxy: most('proxy', 'rssMb'), server: most('server', 'rssMb'), client: most('client', 'rssMb') },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const nodeArgs = args['node-args'].split(' ').filter(Boolean);
  const clientEnv = Object.fromEntries(args['client-env'].split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const procs = args.compiled ? await compiled(path.resolve(args.compiled), nodeArgs, clientEnv) : await viaLocalMesh();
  for (const p of procs) console.log(`  ${p.name.padEnd(18)} RSS ${p.rssMb.toFixed(1).padStart(6)} MB  PSS ${p.pssMb.toFixed(1).padStart(6)} MB${p.cpuPct === undefined ? '' : `  CPU ${p.cpuPct.toFixed(1)}%`}`);
  const s = summarizeMemory(procs);
  const how = args.compiled ? `compiled (${[args.compiled, args['no-flags'] ? 'no NODE_FLAGS' : 'NODE_FLAGS', ...nodeArgs].join(' ')})` : 'local-mesh up';
  console.log(`${how}: ${s.processes} processes, RSS ${s.totalRssMb.toFixed(0)} MB, PSS ${s.totalPssMb.toFixed(0)} MB after ${SETTLE_S} s`);
  console.log(JSON.stringify({ mode: args.compiled ? 'compiled' : 'local-mesh', flags: !args['no-flags'], nodeArgs, settleS: SETTLE_S, ...s, procs }));
}
