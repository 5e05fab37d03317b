// Where the client's summary lines come from: the command the document's front matter gives
// for the target (e.g. `kubectl logs -f deploy/client`), or a recorded list of lines.
// Both yield the same Summary objects, so the checks and the live view cannot tell them apart;
// that is how the kind path is tested without a cluster.

import { createInterface } from 'node:readline';
import { $, type ProcessPromise } from 'zx/core';
import { parseSummaryLine, type Summary } from '../../lib/summary.ts';
import type { FollowCommand } from '../front-matter.ts';
import { killGroup, killGroupAfterGrace, signalGroup } from '../process-group.ts';
import { discardingStore } from '../shell.ts';

export interface TrafficSource {
  /** Calls `on` for every summary line, in order, until `stop`. */
  start(on: (s: Summary) => void): void;
  stop(): Promise<void>;
}

/** A fixed list of lines (recorded from a real run), delivered as they would be read. */
export function linesSource(lines: string[]): TrafficSource {
  let stopped = false;
  return {
    start(on) {
      queueMicrotask(() => {
        for (const line of lines) {
          if (stopped) return;
          const s = parseSummaryLine(line);
          if (s) on(s);
        }
      });
    },
    async stop() {
      stopped = true;
    },
  };
}

/**
 * Follow a command's output for summary lines. The command may fail while the thing it
 * follows does not exist yet (no client pod, nothing up), or end with it (`kubectl logs -f`
 * ends with its pod, e.g. when the client is restarted): it is started again after a pause,
 * until `stop`. A command started again replays the tail of the log, so a summary no newer
 * than the last one delivered is dropped: the client's summaries are stamped in order, one
 * client at a time. Its whole process group is ended on `stop`.
 */
export function commandSource(
  cmd: string,
  args: string[],
  opts: { cwd: string; retryMs?: number; env?: NodeJS.ProcessEnv },
): TrafficSource {
  let proc: ProcessPromise | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastTs = -Infinity;
  const retryMs = opts.retryMs ?? 1000;
  const run = (on: (s: Summary) => void) => {
    if (stopped) return;
    // Through zx like every process the runner starts: its own process group (`detached`), so
    // `stop` ends what it started too; nothing kept (the lines are read as they come).
    const p = $({
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
      prefix: '',
      postfix: '',
      nothrow: true,
      quiet: true,
      verbose: false,
      preferLocal: false,
      timeout: 0,
      kill: killGroup,
      store: discardingStore(),
    })`${cmd} ${args}`;
    proc = p;
    const stdout = p.child?.stdout;
    if (stdout) {
      createInterface({ input: stdout }).on('line', (line) => {
        const s = parseSummaryLine(line);
        if (!s || stopped) return;
        const ts = Date.parse(s.ts);
        if (ts <= lastTs) return;
        lastTs = ts;
        on(s);
      });
    }
    // zx settles when the command ended (or could not start): start it again after a pause.
    void p.then(() => {
      if (proc === p) proc = undefined;
      if (!stopped) timer = setTimeout(() => run(on), retryMs);
    });
  };
  return {
    start: run,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const c = proc?.child;
      if (!proc || !c || c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      const pid = c.pid;
      signalGroup(pid, 'SIGTERM');
      const cancel = killGroupAfterGrace(pid);
      await exited;
      cancel();
    },
  };
}

/**
 * A follow command from the front matter, run by bash in the document's folder (`cwd`). A
 * command that cannot follow yet should end soon (e.g. `test -f STATE && exec ...`): it is
 * started again after its retry.
 */
export function followSource(command: FollowCommand, cwd: string, env?: NodeJS.ProcessEnv): TrafficSource {
  return commandSource('bash', ['-c', command.follow], { cwd, retryMs: command.retryMs, ...(env ? { env } : {}) });
}

/** A target that declares no traffic: nothing ever arrives. */
export function silentSource(): TrafficSource {
  return { start() {}, async stop() {} };
}
