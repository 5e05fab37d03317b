// `local-mesh logs [-f] [--json] NAME`: a process's log (all replicas of a Deployment, each
// line tagged), the client's summary lines as text unless --json; -f follows the processes by
// name across restarts.

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatSummary, parseSummaryLine } from '../../lib/summary.ts';
import { running } from './admin-client.ts';
import { isAlive, readLogChunk } from './processes.ts';
import { logPath, tryLoadState, type Paths, type State } from './state.ts';

/** How long `logs -f` waits with none of its processes alive (a restart's gap) before it ends. */
const FOLLOW_GAP_MS = 5000;

export async function logs(p: Paths, name: string, follow: boolean, json: boolean, out: (line: string) => void): Promise<number> {
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
