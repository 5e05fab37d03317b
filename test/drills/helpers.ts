// Shared by the drills: `local-mesh` as a reader runs it (its own state folder), the client's
// summary lines added up, the proxy's metrics and config, and a last-resort cleanup by pid
// from local-mesh's history.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSummaryLine, type Summary } from '../../lib/summary.ts';
import { findOwned } from '../../scripts/local-mesh/processes.ts';
import { loadState, paths, readHistory } from '../../scripts/local-mesh/state.ts';
import { localMesh as runLocalMesh, type CliResult } from '../local-mesh/cli.ts';
import { until, type Sample } from '../mesh/helpers.ts';
import { isAlive, killAll } from '../runner/helpers.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// One poll loop and one set of admin-endpoint readers for the mesh tests and the drills
// (drills pass their own timeouts).
export { accepts, meshConfig, metrics, sleep, sum, until } from '../mesh/helpers.ts';

export type { CliResult } from '../local-mesh/cli.ts';

/** `node scripts/local-mesh.mjs ARGS` with this environment, from the repository root; never throws. */
export function localMesh(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return runLocalMesh(env, args, 60_000, ROOT);
}

export interface Totals {
  summaries: Summary[];
  total: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  /** Calls the client skipped because CONCURRENCY calls were in flight. */
  skipped: number;
}

/** Everything the client reported so far (its log holds JSON summaries and stderr notes). */
function clientTotals(dir: string): Totals {
  let text = '';
  try {
    text = readFileSync(join(dir, 'client.log'), 'utf8');
  } catch {
    // not started yet
  }
  const t: Totals = { summaries: [], total: 0, ok: 0, failed: 0, errors: {}, skipped: 0 };
  for (const line of text.split('\n')) {
    const skipped = /^client: (\d+) call\(s\) skipped/.exec(line);
    if (skipped) t.skipped += Number(skipped[1]);
    const s = line.startsWith('{') ? parseSummaryLine(line) : undefined;
    if (!s) continue;
    t.summaries.push(s);
    t.total += s.total;
    t.ok += s.ok;
    for (const [k, v] of Object.entries(s.errors)) {
      t.errors[k] = (t.errors[k] ?? 0) + v;
      t.failed += v;
    }
  }
  return t;
}

/** Wait for `n` more summary lines, then return the totals. */
export async function afterSummaries(dir: string, n: number, timeoutMs = 15_000): Promise<Totals> {
  const from = clientTotals(dir).summaries.length;
  await until(`${n} more client summaries`, () => clientTotals(dir).summaries.length >= from + n, timeoutMs, 50);
  return clientTotals(dir);
}

/** What happened between two totals. */
export function between(a: Totals, b: Totals): { calls: number; ok: number; failed: number; errors: Record<string, number>; skipped: number; byPod: Record<string, number> } {
  const errors: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.errors)) if (v - (a.errors[k] ?? 0) > 0) errors[k] = v - (a.errors[k] ?? 0);
  const byPod: Record<string, number> = {};
  for (const s of b.summaries.slice(a.summaries.length)) for (const [pod, n] of Object.entries(s.byPod)) byPod[pod] = (byPod[pod] ?? 0) + n;
  return { calls: b.total - a.total, ok: b.ok - a.ok, failed: b.failed - a.failed, errors, skipped: b.skipped - a.skipped, byPod };
}

/** Every pid local-mesh says it started in this folder (its own history reader). */
export function startedPids(dir: string): number[] {
  return readHistory(paths({ LOCAL_MESH_DIR: dir }))
    .filter((h) => h.event === 'started' && h.pid)
    .map((h) => h.pid!);
}

/** Last resort after `down`: SIGKILL whatever local-mesh started that still runs, by pid. */
export function killLeftovers(dir: string): number[] {
  // Only our programs: a pid from the history may since belong to something else.
  const ours = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(ROOT, 'apps'));
    } catch {
      return false;
    }
  };
  // And whatever carries this folder's marker, however it was started.
  const marked = findOwned(paths({ LOCAL_MESH_DIR: dir }).dir).map((f) => f.pid);
  const left = [...new Set([...startedPids(dir).filter((pid) => isAlive(pid) && ours(pid)), ...marked])];
  killAll(left);
  return left;
}

export function readState(dir: string): {
  processes: Array<{ name: string; pid: number; port?: number; deployment?: string }>;
  mesh: { port: number; adminPort: number };
  applied?: Record<string, { manifest: string }>;
} {
  // local-mesh's own reader: the splits applied live in a file of their own (applied.json).
  const s = loadState(paths({ LOCAL_MESH_DIR: dir }));
  if (!s?.mesh) throw new Error(`no local-mesh state with a proxy in ${dir}`);
  return { ...s, mesh: s.mesh };
}

/**
 * Where calls went wrong between two scrapes, for a failing drill's message: non-OK responses
 * by pod and status, and how late the proxy's event loop ran (a starved machine shows there).
 */
export function failureDetail(before: Sample[], after: Sample[]): string {
  const key = (s: Sample) => `${s.labels.pod || s.labels.backend}:${s.labels.grpc_status}`;
  const was = new Map(before.filter((s) => s.name === 'mesh_response_total').map((s) => [key(s), s.value]));
  const failed = after
    .filter((s) => s.name === 'mesh_response_total' && s.labels.grpc_status !== '0')
    .map((s) => [key(s), s.value - (was.get(key(s)) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`);
  const loopMax = after.find((s) => s.name === 'mesh_event_loop_delay_ms_max')?.value;
  return `proxy saw ${failed.length ? failed.join(' ') : 'no failed calls'}; its event loop ran up to ${loopMax ?? '?'} ms late (since start)`;
}
