// Every process the runner starts leads its own process group (blocks, background blocks, the
// traffic follower), so stopping one means signalling the group: `&` children included.
// zx starts and signals them (runner/shell.ts); what it has no notion of is kept here: a
// SIGKILL for a group still there after the grace period, and a check for what is left.

/** How long a group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 2000;

/** Signal a whole process group; a group already gone is fine. Says whether anything was there. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  // Never 0 or below: process.kill(-0) is the runner's own group, process.kill(1) init.
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
  const timer = setTimeout(() => {
    if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
    then?.();
  }, KILL_GRACE_MS);
  return () => clearTimeout(timer);
}
