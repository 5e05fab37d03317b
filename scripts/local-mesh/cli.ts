// `node scripts/local-mesh.mjs VERB`: the local stand-in for the kubectl steps of the cluster
// track. One line of output per fact, one line per error, exit 1 on failure, 2 on bad usage.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { statusName } from '../../lib/grpc-status.ts';
import type { ApplyAnswer, DeleteAnswer } from '../../apps/mesh/admin.ts';
import { parseMetrics } from '../../lib/prometheus.ts';
import { describeSplit, type Split } from '../../lib/split.ts';
import { formatSummary, parseSummaryLine } from '../../lib/summary.ts';
import { AdminRefusal, apply, config, deleteSplits, metrics, running } from './admin-client.ts';
import { directTarget } from './direct-target.ts';
import { readEndpointTable } from './endpoint-table.ts';
import { isAlive, readLogChunk } from './processes.ts';
import { restart } from './restart.ts';
import { parseEnvChanges, rolloutRestart, setEnv } from './rollout.ts';
import { down } from './down.ts';
import { appendHistory, loadState, logPath, paths, saveApplied, tryLoadState, type AppliedManifest, type Paths, type State } from './state.ts';
import { up } from './up.ts';
import { UsageError } from './usage-error.ts';

export { exitCodeOf, UsageError } from './usage-error.ts';

export const USAGE = `usage: node scripts/local-mesh.mjs VERB
  up                  start the servers (from deploy/linkerd), the mesh proxy and the client;
                      nothing to do when all of them run; after a crash, stops what is left
                      and starts afresh
  apply -f FILE       apply a TrafficSplit or GRPCRoute to the mesh (like kubectl apply)
  delete -f FILE      remove the splits FILE defines (like kubectl delete)
  status [--json]     processes, the split in force, requests per backend
  logs [-f] [--json] NAME   a process's log (client: its summary lines; -f follows it, and
                      the new process after a restart)
  endpoints SERVICE   a gRPC target listing the service's replicas in a random order (for
                      direct, unmeshed calls: pick_first lands on a random one, as via kube-proxy)
  rollout restart DEPLOYMENT
                      replace a server Deployment's replicas one at a time, losing no call
                      (new one ready and in the proxy's table, old one out of it, then SIGTERM)
  set env DEPLOYMENT NAME=VALUE ... NAME- ...
                      set (or with NAME-, unset) a server Deployment's environment and
                      replace its replicas as rollout restart does, e.g.
                      set env deploy/server-v2 FAULT_ERROR_RATE=0.5, later FAULT_ERROR_RATE-;
                      deploy/client: the client is started again with it (HEADER_SHARE=0.2)
  restart NAME        start one process again on its port (NAME: mesh, client or a server pod);
                      the mesh is handed over on the same ports with the splits last applied
  down                stop everything up started, found by the state or, when that is
                      damaged or missing, by the marker each process carries (safe when
                      nothing runs)

Environment:
  LOCAL_MESH_DIR         where state, logs and history.jsonl live (default .local-mesh/)
  LOCAL_MESH_DEPLOY      the manifests up reads (default deploy/linkerd/)
  LOCAL_MESH_CLIENT_ENV  extra client env for up, over deploy/linkerd/client.yaml's,
                         e.g. LOCAL_MESH_CLIENT_ENV='RATE=500 CONCURRENCY=64'
  LOCAL_MESH_SERVER_ENV  the same for every server replica, e.g. 'FAULT_LATENCY_MS=20'`;

type Out = (line: string) => void;

export async function main(argv: string[], out: Out = (l) => process.stdout.write(l + '\n')): Promise<number> {
  const p = paths();
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'up':
      noArgs(verb, rest);
      await up(p, out);
      return 0;
    case 'down': {
      noArgs(verb, rest);
      const { state, damaged } = tryLoadState(p);
      return down(p, state, damaged, out);
    }
    case 'apply':
    case 'delete':
      return applyOrDelete(p, verb, fileArg(verb, rest), out);
    case 'status':
      return status(p, flags(verb, rest, ['--json']).has('--json'), out);
    case 'logs': {
      const f = flags(verb, rest, ['-f', '--follow', '--json'], 1);
      const name = rest.find((a) => !a.startsWith('-'));
      if (!name) throw new UsageError('logs needs a NAME (client, mesh, or a server pod or deployment)');
      return logs(p, name, f.has('-f') || f.has('--follow'), f.has('--json'), out);
    }
    case 'rollout': {
      const [sub, target, ...more] = rest;
      if (sub !== 'restart' || !target || more.length) throw new UsageError('rollout takes: restart DEPLOYMENT (e.g. rollout restart server-v1)');
      return rolloutRestart(p, target, out);
    }
    case 'set': {
      const [sub, target, ...changes] = rest;
      if (sub !== 'env' || !target) throw new UsageError('set takes: env DEPLOYMENT NAME=VALUE|NAME- ... (e.g. set env deploy/server-v2 FAULT_ERROR_RATE=0.5)');
      return setEnv(p, target, parseEnvChanges(changes), out);
    }
    case 'restart': {
      const [name, ...more] = rest;
      if (!name || more.length) throw new UsageError('restart takes one NAME (mesh, client, or a server pod)');
      return restart(p, name, out);
    }
    case 'endpoints': {
      const [svc, ...more] = rest;
      if (!svc || more.length) throw new UsageError('endpoints takes one SERVICE');
      running(p);
      const services = readEndpointTable(p);
      const eps = services[svc];
      if (!eps) throw new Error(`no service ${svc} (known: ${Object.keys(services).join(', ')})`);
      out(directTarget(eps.map((e) => e.address)));
      return 0;
    }
    case undefined:
    case '-h':
    case '--help':
      out(USAGE);
      return verb === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown verb ${JSON.stringify(verb)}`);
  }
}

function noArgs(verb: string, rest: string[]): void {
  if (rest.length) throw new UsageError(`${verb} takes no arguments, got ${rest.join(' ')}`);
}

function flags(verb: string, rest: string[], allowed: string[], positional = 0): Set<string> {
  const f = new Set(rest.filter((a) => a.startsWith('-')));
  for (const a of f) if (!allowed.includes(a)) throw new UsageError(`${verb}: unknown flag ${a}`);
  if (rest.length - f.size > positional) throw new UsageError(`${verb}: too many arguments`);
  return f;
}

function fileArg(verb: string, rest: string[]): string {
  if (rest.length !== 2 || (rest[0] !== '-f' && rest[0] !== '--filename')) throw new UsageError(`${verb} needs -f FILE`);
  return rest[1]!;
}

async function applyOrDelete(p: Paths, verb: 'apply' | 'delete', file: string, out: Out): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const s = running(p);
  let answer: Partial<ApplyAnswer & DeleteAnswer>;
  try {
    answer = verb === 'apply' ? await apply(s, text) : await deleteSplits(s, text);
  } catch (e) {
    if (e instanceof AdminRefusal) throw new Error(`${file}: ${e.message}`);
    throw e;
  }
  const applied = answer.applied ?? [];
  const deleted = answer.deleted ?? [];
  for (const a of applied) appendHistory(p, { event: 'applied', apex: a.apex, backends: a.backends });
  for (const a of deleted) appendHistory(p, { event: 'deleted', apex: a.apex });
  remember(p, s, applied, answer.manifests ?? [], deleted);
  for (const a of applied) out(`${a.kind}/${a.name ?? a.apex} configured: ${describeSplit(a)}`);
  for (const a of deleted) out(`${a.kind}/${a.name ?? a.apex} deleted: ${a.apex} goes to its own endpoints again`);
  return 0;
}

/** Keep the document behind each split in force (the proxy says which), so a restarted proxy can start with it. */
function remember(p: Paths, s: State, applied: Split[], manifests: string[], deleted: Split[]): void {
  s.applied ??= {};
  applied.forEach((a, i) => {
    const manifest = manifests[i];
    if (manifest !== undefined) s.applied![a.apex] = { kind: a.kind, ...(a.name ? { name: a.name } : {}), manifest } satisfies AppliedManifest;
  });
  for (const a of deleted) delete s.applied[a.apex];
  saveApplied(p, s.applied);
}

async function status(p: Paths, json: boolean, out: Out): Promise<number> {
  const s = loadState(p);
  const processes = (s?.processes ?? []).map((x) => ({ name: x.name, pid: x.pid, port: x.port ?? null, alive: isAlive(x) }));
  let splits: Split[] = [];
  let counts: Record<string, Record<string, number>> = {};
  if (s?.mesh && processes.find((x) => x.name === 'mesh')?.alive) {
    splits = (await config(s)).splits;
    counts = backendCounts(await metrics(s));
  }
  if (json) {
    out(JSON.stringify({ running: processes.some((x) => x.alive), processes, splits, backends: counts }));
    return 0;
  }
  if (!s) {
    out('nothing is running');
    return 0;
  }
  for (const x of processes) out(`${x.name.padEnd(22)} pid ${String(x.pid).padEnd(8)} ${x.port ? `127.0.0.1:${x.port}`.padEnd(17) : ''.padEnd(17)} ${x.alive ? 'running' : 'STOPPED'}`);
  out(splits.length ? `splits: ${splits.map(describeSplit).join('; ')}` : 'splits: none (the apex service uses its own endpoints)');
  for (const l of requestLines(counts)) out(l);
  return 0;
}

/** `requests to server-v1: OK=124 UNAVAILABLE=2`, one line a backend, codes by name. */
export function requestLines(counts: Record<string, Record<string, number>>): string[] {
  const name = (code: string) => (/^\d+$/.test(code) ? statusName(Number(code)) : code);
  return Object.entries(counts).map(([backend, byStatus]) => `requests to ${backend}: ${Object.entries(byStatus).map(([code, n]) => `${name(code)}=${n}`).join(' ')}`);
}

/** Sum the proxy's response counters by backend and gRPC status. */
export function backendCounts(metricsText: string): Record<string, Record<string, number>> {
  const res: Record<string, Record<string, number>> = {};
  for (const { labels, value } of parseMetrics(metricsText).filter((x) => x.name === 'mesh_response_total')) {
    const backend = labels.backend ?? labels.service ?? '?';
    const code = labels.grpc_status ?? labels.status ?? '?';
    res[backend] ??= {};
    res[backend][code] = (res[backend][code] ?? 0) + value;
  }
  return res;
}

/** How long `logs -f` waits with none of its processes alive (a restart's gap) before it ends. */
const FOLLOW_GAP_MS = 5000;

async function logs(p: Paths, name: string, follow: boolean, json: boolean, out: Out): Promise<number> {
  const matching = (s: State) => s.processes.filter((x) => x.name === name || x.name.startsWith(`${name}-`));
  const s = running(p);
  let procs = matching(s);
  if (procs.length === 0) throw new Error(`no process named ${name} (known: ${s.processes.map((x) => x.name).join(', ')})`);
  const several = procs.length > 1;
  const show = (proc: string, line: string) => {
    if (!line) return;
    const summary = proc === 'client' && !json ? parseSummaryLine(line) : undefined;
    const text = summary ? formatSummary(summary, 'text') : line;
    out(several ? `[${proc}] ${text}` : text);
  };
  // Per log: which file (inode) was read and how far. Read only what was appended since the
  // last look, so following a long log stays cheap.
  const read = new Map<string, { ino?: number; offset: number }>();
  const emit = (proc: string, bytes: Buffer): number => {
    // Only whole lines; a half-written one waits for the next read.
    const end = bytes.lastIndexOf(0x0a) + 1;
    if (end > 0) for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) show(proc, line);
    return end;
  };
  const drain = () => {
    for (const x of procs) {
      const at = read.get(x.name) ?? { offset: 0 };
      let chunk = readLogChunk(logPath(p, x.name), at.offset);
      if (at.ino !== undefined && chunk.ino !== undefined && chunk.ino !== at.ino) {
        // Restarted: the log was rotated to NAME.previous.log and a new one begun. Finish the
        // old file (its last lines, e.g. the client's final summary), then read the new one
        // from its start, not from the old file's offset.
        const prev = readLogChunk(join(p.dir, `${x.name}.previous.log`), at.offset);
        if (prev.ino === at.ino) emit(x.name, prev.bytes);
        chunk = readLogChunk(logPath(p, x.name), 0);
        at.offset = 0;
      }
      if (chunk.ino !== undefined) at.ino = chunk.ino;
      at.offset += emit(x.name, chunk.bytes);
      read.set(x.name, at);
    }
  };
  drain();
  if (!follow) return 0;
  let stop = false;
  const onSig = () => {
    stop = true;
  };
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  // Follow the processes by name, not by pid: a restart (`restart client`, `set env
  // deploy/client`) replaces the process, and the follower goes on with the new one.
  let aliveAt = Date.now();
  while (!stop) {
    await sleep(200);
    const now = tryLoadState(p).state;
    if (now) {
      const current = matching(now);
      procs = [...current, ...procs.filter((x) => !current.some((y) => y.name === x.name))];
    }
    drain();
    if (procs.some((x) => isAlive(x))) aliveAt = Date.now();
    else if (!now || Date.now() - aliveAt > FOLLOW_GAP_MS) break;
  }
  drain();
  return 0;
}
