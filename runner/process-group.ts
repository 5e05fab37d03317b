// Every process the runner starts leads its own process group (blocks, background blocks, the
// traffic follower), so stopping one means signalling the group: `&` children included.

/** How long a group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 2000;

/** Signal a whole process group; a group already gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}
