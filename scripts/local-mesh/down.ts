// Stopping a demo: every process `up` (or a later restart or rollout) started for this state
// folder. The state names them; the marker each carries in its environment (processes.ts)
// finds those the state does not name, because it is damaged, missing or behind. `down`
// stops them all; `up` does the same before it starts afresh after a crash.

import { findOwned, isAlive, STOP_GRACE_MS, stopGroup, type Found, type Proc } from './processes.ts';
import { clearState, type Paths, type State } from './state.ts';

type Out = (line: string) => void;

/** The state's processes that still run, and the marked ones it does not list. */
export function demoProcesses(p: Paths, s: State | undefined): { listed: Proc[]; strays: Found[] } {
  const listed = (s?.processes ?? []).filter((x) => isAlive(x));
  const known = new Set(listed.map((x) => x.pid));
  return { listed, strays: findOwned(p.dir).filter((f) => !known.has(f.pid)) };
}

export function describe(xs: Array<{ name: string; pid: number }>): string {
  return xs.map((x) => `${x.name} (pid ${x.pid})`).join(', ');
}

/**
 * Stop them: the client first, so its last summary is written while the proxy and servers
 * still answer; then the proxy; then the servers together (each drains on SIGTERM).
 */
export async function stopAll(xs: Array<Pick<Proc, 'name' | 'pid' | 'mark'>>): Promise<void> {
  const rank = (name: string) => (name === 'client' ? 0 : name === 'mesh' ? 1 : 2);
  for (const r of [0, 1, 2]) await Promise.all(xs.filter((x) => rank(x.name) === r).map((x) => stopGroup(x, STOP_GRACE_MS)));
}

export async function down(p: Paths, state: State | undefined, damaged: string | undefined, out: Out): Promise<number> {
  const { listed, strays } = demoProcesses(p, state);
  if (damaged) out(`${damaged}: looking for the demo's processes by their marker instead${process.platform === 'linux' ? '' : ' (that needs /proc, which only Linux has: stop them by hand)'}`);
  if (strays.length) {
    const why = damaged ? 'found' : state ? 'found, not in the state' : 'no state file; found';
    out(`${why} ${strays.length} process${strays.length === 1 ? '' : 'es'} of this demo by their marker: ${describe(strays)}`);
  }
  const all = [...listed, ...strays];
  if (all.length === 0 && !state && !damaged) {
    out('nothing to stop');
    return 0;
  }
  await stopAll(all);
  clearState(p);
  out(`stopped ${all.length} processes`);
  return 0;
}
