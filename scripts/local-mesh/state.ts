// Where `local-mesh` keeps what it started: one JSON file of processes and ports, and their
// logs, in a git-ignored folder. Every verb reads it; `up`, `down`, `rollout restart`,
// `restart` change the processes in it, `apply` and `delete` the splits it remembers.

import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Workload } from '../../lib/topology.ts';
import type { Proc } from './processes.ts';

// Compiled, this module is dist/scripts/local-mesh/state.js (scripts/build.mjs): one more up.
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', import.meta.url.endsWith('.js') ? '..' : '.');

export interface Paths {
  dir: string;
  state: string;
  deploy: string;
}

/** LOCAL_MESH_DIR and LOCAL_MESH_DEPLOY let tests use their own folders. */
export function paths(env: NodeJS.ProcessEnv = process.env): Paths {
  const dir = resolve(env.LOCAL_MESH_DIR ?? join(ROOT, '.local-mesh'));
  return { dir, state: join(dir, 'state.json'), deploy: resolve(env.LOCAL_MESH_DEPLOY ?? join(ROOT, 'deploy', 'linkerd')) };
}

export interface Endpoint {
  address: string;
  pod: string;
}

export interface State {
  startedAt: string;
  processes: Proc[];
  /** Service name -> endpoints, as handed to the mesh. */
  services: Record<string, Endpoint[]>;
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

export function loadState(p: Paths): State | undefined {
  try {
    return JSON.parse(readFileSync(p.state, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

/** Written whole and renamed into place, so a reader never sees half a file. */
export function saveState(p: Paths, s: State): void {
  mkdirSync(p.dir, { recursive: true });
  const tmp = `${p.state}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n');
  renameSync(tmp, p.state);
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

export function clearState(p: Paths): void {
  rmSync(p.state, { force: true });
}

export function logPath(p: Paths, name: string): string {
  return join(p.dir, `${name}.log`);
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
