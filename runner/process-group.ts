// Every process the runner starts leads its own process group (blocks, background blocks, the
// traffic follower), so stopping one means signalling the group: `&` children included.
// zx starts and signals them (runner/shell.ts); what it has no notion of is kept here: a
// SIGKILL for a group still there after the grace period, and a check for what is left.

/** How long a group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 2000;

// Signalling a group and asking whether it is still there are lib's (one owner for the runner,
// local-mesh and the tests).
import { groupAlive, killGroupAfterGrace as killAfter, signalGroup } from '../lib/process-group.ts';

export { groupAlive, signalGroup };

/**
 * zx's `kill` option for a process that leads its own group: SIGTERM (or `signal`) to the whole
 * group. zx's default walks the process table with `ps` first, which these groups do not need
 * and slim systems may lack.
 */
export async function killGroup(pid: number | `${number}`, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  signalGroup(Number(pid), signal);
}

/**
 * SIGKILL the group if it is still there after the grace period; `then` runs either way (or
 * not at all once cancelled). Returns the cancel function.
 */
export function killGroupAfterGrace(pgid: number, then?: () => void): () => void {
  return killAfter(pgid, KILL_GRACE_MS, then);
}
