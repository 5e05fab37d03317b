// One bash per block, in its own process group. The block's text goes to bash as a file it
// sources, never through JavaScript interpolation, so `${VAR}` and backticks are bash's.
// Exports and the working directory carry forward: when a block ends, bash itself writes
// `export -p` and a `cd` to a state file; the next block starts from an empty environment
// and sources that file, so a variable a block unset stays unset. No extra process per
// block: the state travels through bash builtins and one small file.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $, quote, which, type ProcessOutput } from 'zx/core';

export interface ShellSession {
  /** Folder the first block starts in: the document's. */
  readonly docDir: string;
  readonly tmp: string;
  readonly bash: string;
  /** The latest state file a block left, or null before the first block. */
  state: string | null;
  seq: number;
}

export interface BlockResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Where set -e stopped the block: its line within the block text (1-based), if known. */
  failedLine: number | null;
  /** The simple command bash was running when it stopped. */
  failedCommand: string | null;
}

export interface BlockHandle {
  pid: number;
  done: Promise<BlockResult>;
  /** Stop the whole process group: SIGTERM, then SIGKILL after a grace period. */
  stop(): void;
}

export interface StartOptions {
  text: string;
  /** Becomes part of the script's file name, which bash shows in its own messages. */
  label: string;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /** Run blocks pass their exports and cwd on; background blocks do not. */
  saveState: boolean;
  timeoutMs?: number;
}

const GRACE_MS = 2000;

export function createSession(docDir: string): ShellSession {
  const bash = which.sync('bash', { nothrow: true });
  if (!bash) throw new Error('bash not found on PATH');
  return { docDir, tmp: mkdtempSync(path.join(os.tmpdir(), 'tutorial-run-')), bash, state: null, seq: 0 };
}

export function closeSession(session: ShellSession): void {
  rmSync(session.tmp, { recursive: true, force: true });
}

// zx keeps every chunk in memory by default; blocks (and hours of background logs) should not.
const sink = { push: () => 0, join: () => '', length: 0 };
const NO_STORE = { stdout: sink, stderr: sink, stdall: sink } as never;

export function startBlock(session: ShellSession, options: StartOptions): BlockHandle {
  const n = ++session.seq;
  const safeLabel = options.label.replace(/[^A-Za-z0-9._-]+/g, '_');
  const script = path.join(session.tmp, `${n}-${safeLabel}.sh`);
  const stateOut = path.join(session.tmp, `${n}.state`);
  const errOut = path.join(session.tmp, `${n}.err`);
  writeFileSync(script, options.text.endsWith('\n') ? options.text : `${options.text}\n`);

  const lines = [
    `__tutorial_err=${quote(errOut)}`,
    options.saveState ? `__tutorial_out=${quote(stateOut)}` : '',
    session.state ? `. ${quote(session.state)}` : '',
    options.saveState ? `trap '{ export -p; printf "cd -- %q\\n" "$PWD"; } > "$__tutorial_out"' EXIT` : '',
    `trap 'printf "%s\\n%s" "$LINENO" "$BASH_COMMAND" > "$__tutorial_err"' ERR`,
    'set -Eeuo pipefail',
    `. ${quote(script)}`,
  ];
  const cmd = lines.filter(Boolean).join('\n');
  const pieces = Object.assign([cmd], { raw: [cmd] }) as unknown as TemplateStringsArray;
  const proc = $({
    shell: session.bash,
    prefix: '',
    postfix: '',
    cwd: session.docDir,
    // After the first block the state file brings the whole environment back.
    env: session.state ? {} : process.env,
    detached: true,
    nothrow: true,
    quiet: true,
    verbose: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    store: NO_STORE,
  })(pieces);

  const child = proc.child!;
  const pid = child.pid!;
  child.stdout!.on('data', options.onStdout);
  child.stderr!.on('data', options.onStderr);

  let settled = false;
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (settled) return;
    signalGroup(pid, 'SIGTERM');
    killTimer ??= setTimeout(() => signalGroup(pid, 'SIGKILL'), GRACE_MS);
  };
  // A block's leftover `&` children would hold its output open: end them with the block.
  // Long-running processes belong in background=true blocks.
  child.once('exit', () => stop());
  const timer = options.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs)
    : undefined;

  const done = (proc as Promise<ProcessOutput>).then((out): BlockResult => {
    settled = true;
    clearTimeout(timer);
    clearTimeout(killTimer);
    const code = out.exitCode;
    const signal = (out.signal as NodeJS.Signals | null) ?? null;
    let failedLine: number | null = null;
    let failedCommand: string | null = null;
    if (code !== 0) {
      try {
        const [l, ...c] = readFileSync(errOut, 'utf8').split('\n');
        failedLine = Number(l) || null;
        failedCommand = c.join('\n') || null;
      } catch {
        // No ERR trap ran: killed, or an explicit `exit N`.
      }
    }
    // A failed block's state still counts: `always` blocks after it see where it got to.
    if (options.saveState && existsSync(stateOut)) session.state = stateOut;
    return { code, signal, timedOut, failedLine, failedCommand };
  });
  return { pid, done, stop };
}

/** Signal a whole process group; a group already gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}
