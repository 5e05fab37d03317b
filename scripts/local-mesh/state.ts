// Where `local-mesh` keeps what it started: one JSON file of processes and ports, and their
// logs, in a git-ignored folder. Every verb reads it; `up`, `down`, `rollout restart`,
// `restart` change the processes in it. `apply` and `delete` keep the splits they set in a
// file of their own (applied.json), so an apply during a rollout cannot write back an older
// list of processes, nor a rollout an older list of splits.

import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Workload } from '../../lib/topology.ts';
import type { Proc } from './processes.ts';

// Compiled, this module is dist/scripts/local-mesh/state.js (scripts/build.mjs): one more up.
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', import.meta.url.endsWith('.js') ? '..' : '.');

export interface Paths {
  dir: string;
  state: string;
  /** apex -> AppliedManifest: the splits in force, written by apply and delete only. */
  applied: string;
  /** The proxy's config file, the one home of its endpoint table (endpoint-table.ts). */
  meshConfig: string;
  deploy: string;
}

/** LOCAL_MESH_DIR and LOCAL_MESH_DEPLOY let tests use their own folders. */
export function paths(env: NodeJS.ProcessEnv = process.env): Paths {
  const dir = resolve(env.LOCAL_MESH_DIR ?? join(ROOT, '.local-mesh'));
  return { dir, state: join(dir, 'state.json'), applied: join(dir, 'applied.json'), meshConfig: join(dir, 'mesh-config.json'), deploy: resolve(env.LOCAL_MESH_DEPLOY ?? join(ROOT, 'deploy', 'linkerd')) };
}

export interface State {
  startedAt: string;
  processes: Proc[];
  /** Service name -> label selector, so replicas started later join the right Services. */
  selectors?: Record<string, Record<string, string>>;
  /** Server Deployments as `up` read them (plus LOCAL_MESH_SERVER_ENV), for `rollout restart`. */
  deployments?: Record<string, { workload: Workload; env: Record<string, string> }>;
  mesh?: { port: number; adminPort: number; authority: string };
  /**
   * apex -> the manifest document last applied for it (as the reader wrote it), so a
   * restarted proxy starts with the split that was in force.
   */
  applied?: Record<string, AppliedManifest>;
}

export interface AppliedManifest {
  kind: string;
  name?: string;
  /** The one YAML document (TrafficSplit or GRPCRoute) that set the split. */
  manifest: string;
}

/** state.json is there but is not a state (a crash while writing it by hand, a stray edit). */
export class DamagedState extends Error {
  constructor(
    file: string,
    /** What is wrong with it, e.g. "damaged (Unexpected end of JSON input)". */
    readonly problem: string,
  ) {
    super(`${file}: ${problem}; local-mesh down finds and stops the demo's processes without it`);
  }
}

/** The state, undefined when there is none; DamagedState when the file cannot be read as one. */
export function loadState(p: Paths): State | undefined {
  let text: string;
  try {
    text = readFileSync(p.state, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DamagedState(p.state, `cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  let s: State;
  try {
    s = JSON.parse(text) as State;
  } catch (e) {
    throw new DamagedState(p.state, `is damaged (${(e as Error).message})`);
  }
  if (!s || typeof s !== 'object' || !Array.isArray(s.processes) || s.processes.some((x) => !x || typeof x.pid !== 'number' || typeof x.name !== 'string')) {
    throw new DamagedState(p.state, 'is not a local-mesh state (no list of processes with pids)');
  }
  const applied = readJson<State['applied']>(p.applied);
  if (applied) s.applied = applied;
  return s;
}

/** loadState for the verbs that can do without: a damaged state is reported, not thrown. */
export function tryLoadState(p: Paths): { state?: State; damaged?: string } {
  try {
    const state = loadState(p);
    return state ? { state } : {};
  } catch (e) {
    if (e instanceof DamagedState) return { damaged: `state.json ${e.problem}` };
    throw e;
  }
}

/**
 * Written whole and renamed into place, so a reader never sees half a file (nor a crash
 * leaves one). The splits in force are apply's to write (saveApplied), not here.
 */
export function saveState(p: Paths, s: State): void {
  const { applied: _applied, ...rest } = s;
  writeAtomically(p, p.state, rest);
}

export function saveApplied(p: Paths, applied: Record<string, AppliedManifest>): void {
  writeAtomically(p, p.applied, applied);
}

function writeAtomically(p: Paths, file: string, value: unknown): void {
  writeTextAtomically(p, file, JSON.stringify(value, null, 2) + '\n');
}

/** A file of local-mesh's folder, written whole and renamed into place: a reader never sees half of it. */
export function writeTextAtomically(p: Paths, file: string, text: string): void {
  mkdirSync(p.dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * A process just started: into the state (in the place of `replaces`, if given, so `status`
 * keeps its order), saved at once so `down` finds it even if what follows fails, and into the history.
 */
export function recordStarted(p: Paths, s: State, x: Proc, replaces?: Proc): void {
  if (replaces) s.processes = s.processes.map((y) => (y === replaces ? x : y));
  else s.processes.push(x);
  saveState(p, s);
  appendHistory(p, { event: 'started', name: x.name, pid: x.pid });
}

/** A process already stopped: into the history, out of the state. */
export function recordStopped(p: Paths, s: State, x: Proc): void {
  appendHistory(p, { event: 'stopped', name: x.name, pid: x.pid });
  s.processes = s.processes.filter((y) => y !== x);
  saveState(p, s);
}

/** Everything but history.jsonl: what down leaves for a reader to check afterwards. */
export function clearState(p: Paths): void {
  rmSync(p.state, { force: true });
  rmSync(p.applied, { force: true });
}

export function logPath(p: Paths, name: string): string {
  return join(p.dir, `${name}.log`);
}

/**
 * Remove the logs (NAME.log, NAME.previous.log) of processes not in `keep`: replicas that a
 * rollout replaced or an earlier `up` started. Returns the names removed.
 */
export function pruneLogs(p: Paths, keep: Iterable<string>): string[] {
  const live = new Set(keep);
  let files: string[];
  try {
    files = readdirSync(p.dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const f of files) {
    const m = /^(.+?)(\.previous)?\.log$/.exec(f);
    if (!m || live.has(m[1]!)) continue;
    rmSync(join(p.dir, f), { force: true });
    removed.push(f);
  }
  return removed;
}

export function ensureDir(p: Paths): void {
  mkdirSync(p.dir, { recursive: true });
}

/**
 * An append-only record of what happened (processes started, splits applied), one JSON object
 * a line. `down` keeps it, so a test or a curious reader can check afterwards that every
 * process is gone and when each split took effect.
 */
interface HistoryEntry {
  ts: string;
  event: 'started' | 'stopped' | 'applied' | 'deleted';
  name?: string;
  pid?: number;
  apex?: string;
  backends?: Array<{ service: string; weight: number }>;
}

function historyPath(p: Paths): string {
  return join(p.dir, 'history.jsonl');
}

export function appendHistory(p: Paths, entry: Omit<HistoryEntry, 'ts'>): void {
  mkdirSync(p.dir, { recursive: true });
  appendFileSync(historyPath(p), JSON.stringify({ ts: new Date().toISOString(), ...entry }) + '\n');
}

export function readHistory(p: Paths): HistoryEntry[] {
  try {
    return readFileSync(historyPath(p), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as HistoryEntry);
  } catch {
    return [];
  }
}
