// Stopping a process group: SIGTERM, a grace period the caller names, SIGKILL for what is
// still there, and checks for what is left. Every long-lived process this project starts
// leads its own group, so `&` children go with it. One owner for that rule: local-mesh and
// the tests use it; its semantics are runner/process-group.ts's, so the runner can too.

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Signal a whole process group; a group already gone is fine. Says whether anything was there. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  // Never 0 or below: process.kill(-0) is the caller's own group, process.kill(1) init.
  if (!(pgid > 1)) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: nothing left in the group.
    return false;
  }
}

export function groupAlive(pgid: number): boolean {
  if (!(pgid > 1)) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Is this pid a live process? An exited one not yet reaped (a zombie) is not. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export interface StopOptions {
  /** How long the group gets between SIGTERM and SIGKILL. */
  graceMs: number;
  /** What "still there" means; by default, anything left in the group. */
  alive?: () => boolean;
  /** How to deliver a signal; by default to the group. */
  signal?: (signal: NodeJS.Signals) => void;
}

/** SIGTERM the group, then SIGKILL it if it is still there after the grace period. */
export async function stopGroup(pgid: number, opts: StopOptions): Promise<'stopped' | 'killed' | 'gone'> {
  const alive = opts.alive ?? (() => groupAlive(pgid));
  const signal = opts.signal ?? ((s: NodeJS.Signals) => void signalGroup(pgid, s));
  if (!alive()) return 'gone';
  signal('SIGTERM');
  const deadline = Date.now() + opts.graceMs;
  while (Date.now() < deadline) {
    if (!alive()) return 'stopped';
    await sleep(25);
  }
  signal('SIGKILL');
  return 'killed';
}

/**
 * SIGKILL the group if it is still there after `graceMs`; `then` runs either way (or not at
 * all once cancelled). Returns the cancel function. For callers that cannot wait (an exit hook).
 */
export function killGroupAfterGrace(pgid: number, graceMs: number, then?: () => void): () => void {
  const timer = setTimeout(() => {
    if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
    then?.();
  }, graceMs);
  return () => clearTimeout(timer);
}

/** Wait until none of the pids is alive, up to `ms`; returns those still alive. */
export async function waitGone(pids: readonly number[], ms: number): Promise<number[]> {
  const end = Date.now() + ms;
  for (;;) {
    const alive = pids.filter(processAlive);
    if (alive.length === 0 || Date.now() > end) return alive;
    await sleep(50);
  }
}

/** SIGKILL leftovers by pid (each on its own; gone ones are fine). */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
