// Starts the run blocks' bash processes from one small, long-lived bash instead of from Node.
// Forking Node (tens of MB mapped, a loader thread) costs more than the block itself on small
// machines; bash forks cheaply. Still one bash per block: the launcher forks it with job
// control on (`set -m`), so each block leads its own process group, as a detached spawn
// would. The launcher reports each block's pid and exit status on a control pipe (fd 3);
// blocks write to the launcher's stdout/stderr, and a marker written after a block exits
// tells where its output ends on each stream.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { signalGroup } from './process-group.ts';

const MARK = Buffer.from('\0\x01tutorial-block-end\x01\0');

// fd 4 keeps the real stderr for blocks; the launcher's own stderr (job notices such as
// "Terminated") goes nowhere. Variables here are not exported, so blocks never see them.
const SCRIPT = `exec 4>&2 2>/dev/null
set -m
while IFS= read -r f; do
  "$BASH" "$f" </dev/null 2>&4 3>&- 4>&- &
  p=$!
  printf 'S %s\\n' "$p" >&3
  wait "$p"
  rc=$?
  kill -TERM -- "-$p"
  printf '\\0\\001tutorial-block-end\\001\\0'
  printf '\\0\\001tutorial-block-end\\001\\0' >&4
  printf 'E %s %s\\n' "$p" "$rc" >&3
done
`;

export interface LaunchHandlers {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
}

export interface Launched {
  /** The block's pid, which is also its process group id. */
  pid: Promise<number>;
  /** Exit status as bash's `wait` gives it (128+N for signal N); null if the launcher died. */
  done: Promise<number | null>;
}

export interface Launcher {
  /** Run `bash <script>`; one at a time. */
  launch(script: string, handlers: LaunchHandlers): Launched;
  close(): void;
}

interface Current {
  handlers: LaunchHandlers;
  rc: number | null | undefined;
  outEnded: boolean;
  errEnded: boolean;
  resolvePid(pid: number): void;
  resolveDone(rc: number | null): void;
}

export function startLauncher(bash: string): Launcher {
  // --norc: bash reads ~/.bashrc when its stdin is a socket, as Node's pipes are.
  const child: ChildProcess = spawn(bash, ['--norc', '--noprofile', '-c', SCRIPT], {
    detached: true,
    env: {},
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  let current: Current | null = null;
  let dead = false;

  const settle = () => {
    const c = current;
    if (!c || c.rc === undefined || !c.outEnded || !c.errEnded) return;
    current = null;
    c.resolveDone(c.rc);
  };

  const splitter = (stream: Readable, which: 'out' | 'err') => {
    let carry = Buffer.alloc(0);
    stream.on('data', (chunk: Buffer) => {
      let data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      carry = Buffer.alloc(0);
      for (;;) {
        const at = data.indexOf(MARK);
        if (at < 0) break;
        deliver(which, data.subarray(0, at));
        if (current) {
          if (which === 'out') current.outEnded = true;
          else current.errEnded = true;
        }
        settle();
        data = data.subarray(at + MARK.length);
      }
      // Hold back a tail that could be the start of a marker split across chunks.
      const keep = partialMarkAt(data);
      carry = Buffer.from(data.subarray(keep));
      deliver(which, data.subarray(0, keep));
    });
  };
  const deliver = (which: 'out' | 'err', data: Buffer) => {
    if (data.length === 0 || !current) return;
    if (which === 'out') current.handlers.onStdout(data);
    else current.handlers.onStderr(data);
  };
  splitter(child.stdout!, 'out');
  splitter(child.stderr!, 'err');

  let control = '';
  (child.stdio[3] as Readable).on('data', (d: Buffer) => {
    control += d.toString('latin1');
    for (let nl = control.indexOf('\n'); nl >= 0; nl = control.indexOf('\n')) {
      const [kind, pid, rc] = control.slice(0, nl).split(' ');
      control = control.slice(nl + 1);
      if (!current) continue;
      if (kind === 'S') current.resolvePid(Number(pid));
      else if (kind === 'E') {
        current.rc = Number(rc);
        settle();
      }
    }
  });

  child.on('exit', () => {
    dead = true;
    const c = current;
    current = null;
    if (c) {
      c.resolvePid(-1);
      c.resolveDone(null);
    }
  });
  // Writing to a launcher that died must not crash the runner; the block reports it instead.
  child.stdin!.on('error', () => {});

  return {
    launch(script, handlers) {
      if (current) throw new Error('launcher: one block at a time');
      let resolvePid!: (pid: number) => void;
      let resolveDone!: (rc: number | null) => void;
      const pid = new Promise<number>((r) => (resolvePid = r));
      const done = new Promise<number | null>((r) => (resolveDone = r));
      if (dead) {
        resolvePid(-1);
        resolveDone(null);
        return { pid, done };
      }
      current = { handlers, rc: undefined, outEnded: false, errEnded: false, resolvePid, resolveDone };
      child.stdin!.write(`${script}\n`);
      return { pid, done };
    },
    close() {
      child.stdin!.end();
      signalGroup(child.pid!, 'SIGTERM');
    },
  };
}

/** Index from which `data` ends with a proper prefix of the marker (data.length if none). */
function partialMarkAt(data: Buffer): number {
  const from = Math.max(0, data.length - MARK.length + 1);
  for (let i = data.indexOf(0, from); i >= 0 && i < data.length; i = data.indexOf(0, i + 1)) {
    if (MARK.subarray(0, data.length - i).equals(data.subarray(i))) return i;
  }
  return data.length;
}
