// How a block runs: through zx's `$`, as a ProcessPromise, one bash per block in its own
// process group (`detached`). The block's text goes to bash as a file it sources, never
// through JavaScript interpolation, so `${VAR}` and backticks are bash's; the command zx runs
// is `. <block file>`, after a prefix (zx's `prefix` option, which by default holds zx's own
// `set -euo pipefail;`) that sets the block up.
//
// Exports and the working directory carry forward in a state file: the prefix sources the
// previous block's, and an EXIT trap writes `export -p` and a `cd` when the block ends. Blocks
// start from an empty environment, so the state file is the whole environment: a variable a
// block unset stays unset. The first state file is written here from the runner's own
// environment. An ERR trap records the line and command set -e stopped at (FILE:LINE).
//
// zx does the rest: exit code or signal, the output streams, the timeout, the stop (zx's abort
// signals a detached process's whole group). runner/process-group.ts has what zx has no notion
// of: SIGKILL after the grace period, and the `&` children a finished block leaves behind.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $, quote, which } from 'zx/core';
import { groupAlive, killGroup, killGroupAfterGrace, signalGroup } from './process-group.ts';

export interface ShellSession {
  readonly docDir: string;
  readonly tmp: string;
  readonly bash: string;
  /** The state file the next block starts from. */
  state: string;
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
  /** The file bash ran the block from; its messages name it ("<script>: line 3: ..."). */
  script: string;
}

export interface BlockHandle {
  done: Promise<BlockResult>;
  /** Stop the whole process group: SIGTERM, then SIGKILL after a grace period. */
  stop(): void;
}

export interface BackgroundHandle extends BlockHandle {
  pid: number;
}

export interface StartOptions {
  text: string;
  /** Becomes part of the script's file name, which bash shows in its own messages. */
  label: string;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  timeoutMs?: number;
}

/** The last line of a state file the EXIT trap wrote in full. */
const STATE_END = '# end';

export function createSession(docDir: string): ShellSession {
  // zx found bash on PATH when it loaded (its default shell); look again only if it did not.
  const bash = typeof $.shell === 'string' && path.basename($.shell) === 'bash' ? $.shell : which.sync('bash', { nothrow: true });
  if (!bash) throw new Error('bash not found on PATH');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tutorial-run-'));
  const state = path.join(tmp, '0.state');
  writeFileSync(state, initialState(process.env, docDir));
  return { docDir, tmp, bash, state, seq: 0 };
}

export function closeSession(session: ShellSession): void {
  rmSync(session.tmp, { recursive: true, force: true });
}

/** The runner's environment and the document's folder, as a file bash can source. */
export function initialState(env: NodeJS.ProcessEnv, dir: string): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    // Only names bash can hold; bash keeps SHLVL, PWD and _ itself, and these are read-only.
    if (value === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    if (['SHLVL', 'PWD', 'OLDPWD', '_', 'SHELLOPTS', 'BASHOPTS', 'BASH_VERSINFO', 'EUID', 'UID', 'PPID'].includes(name)) continue;
    lines.push(`export ${name}=${quote(value)}`);
  }
  lines.push(`cd -- ${quote(dir)}`);
  return `${lines.join('\n')}\n`;
}

export { shellWord } from './shell-word.ts';

interface Files {
  block: string;
  stateOut: string;
  errOut: string;
}

/** Write the block where bash will source it; name the files its traps write. */
function prepare(session: ShellSession, options: StartOptions): Files {
  const n = ++session.seq;
  const safeLabel = options.label.replace(/[^A-Za-z0-9._-]+/g, '_');
  const block = path.join(session.tmp, `${n}-${safeLabel}.sh`);
  writeFileSync(block, options.text.endsWith('\n') ? options.text : `${options.text}\n`);
  return { block, stateOut: path.join(session.tmp, `${n}.state`), errOut: path.join(session.tmp, `${n}.err`) };
}

/** What runs before `. <block>`: the state in, the traps, bash's strict mode. */
function blockPrefix(session: ShellSession, files: Files, saveState: boolean): string {
  return [
    // Errors sourcing the state (a read-only name, a folder since removed) are not the block's.
    `. ${quote(session.state)} 2>/dev/null`,
    `__tutorial_err=${quote(files.errOut)}`,
    ...(saveState
      ? [`__tutorial_out=${quote(files.stateOut)}`, `trap '{ export -p; printf "cd -- %q\\n${STATE_END}\\n" "$PWD"; } > "$__tutorial_out"' EXIT`]
      : []),
    `trap 'printf "%s\\n%s" "$LINENO" "$BASH_COMMAND" > "$__tutorial_err"' ERR`,
    'set -Eeuo pipefail',
    '',
  ].join('\n');
}

/** zx keeps every chunk of output by default; hours of background output should not pile up. */
class Discard extends Array<string | Buffer> {
  override push(): number {
    return 0;
  }
}

/** zx's `store` option for a process whose output is read as it comes, never kept. */
export function discardingStore(): { stdout: Discard; stderr: Discard; stdall: Discard } {
  return { stdout: new Discard(), stderr: new Discard(), stdall: new Discard() };
}

interface Started {
  pid: number;
  result: Promise<BlockResult>;
  stop(): void;
}

/** Start `. <block>` through zx; the result says how it ended. */
function start(session: ShellSession, files: Files, options: StartOptions, saveState: boolean): Started {
  let timedOut = false;
  let cancelKill: (() => void) | undefined;
  let settled = false;
  const proc = $({
    shell: session.bash,
    prefix: blockPrefix(session, files, saveState),
    postfix: '',
    cwd: session.docDir,
    // The state file is the whole environment.
    env: {},
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: its pid is the group id, and zx's abort signals the whole group.
    detached: true,
    nothrow: true,
    quiet: true,
    verbose: false,
    // Set here, so that ZX_* variables in the runner's environment do not change how blocks run.
    preferLocal: false,
    store: discardingStore(),
    timeout: options.timeoutMs ?? 0,
    timeoutSignal: 'SIGTERM',
    // zx calls its kill function only when the timeout fires (a stop is an abort).
    kill: (pid: number | `${number}`, signal?: NodeJS.Signals) => {
      timedOut = true;
      escalate(Number(pid));
      return killGroup(pid, signal);
    },
  })`. ${files.block}`;
  const child = proc.child;
  const pid = proc.pid ?? -1;
  // Once SIGTERM went out: SIGKILL what is left after the grace period. If the leader has
  // exited by then, stop waiting for pipes still held open (by a process that left the group).
  const escalate = (pgid: number) => {
    cancelKill ??= killGroupAfterGrace(pgid, () => {
      if (!settled && child && (child.exitCode !== null || child.signalCode !== null)) {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }
    });
  };
  child?.stdout?.on('data', options.onStdout);
  child?.stderr?.on('data', options.onStderr);
  // The leader exited: what it started with `&` and left running ends with it.
  child?.once('exit', () => {
    if (signalGroup(pid, 'SIGTERM')) escalate(pid);
  });

  const result = proc.then<BlockResult, never>((out) => {
    settled = true;
    if (cancelKill && !groupAlive(pid)) cancelKill();
    const base = { script: files.block, timedOut, code: out.exitCode, signal: out.signal };
    const error = out.cause;
    if (error && error.name !== 'AbortError') {
      return { ...base, failedLine: null, failedCommand: `bash could not start: ${error.message}` };
    }
    return { ...base, ...failureInfo(files, out.exitCode) };
  });
  return {
    pid,
    result,
    stop() {
      if (proc.stage !== 'running' || pid <= 0) return;
      proc.abort();
      escalate(pid);
    },
  };
}

/** A run block: its exports and working directory become the session's state. */
export function runBlock(session: ShellSession, options: StartOptions): BlockHandle {
  const files = prepare(session, options);
  const started = start(session, files, options, true);
  const done = started.result.then((result) => {
    // A failed block's state still counts: `always` blocks after it see where it got to.
    if (stateComplete(files.stateOut)) session.state = files.stateOut;
    return result;
  });
  return { done, stop: started.stop };
}

/** A background block: its own bash alongside the others; it does not change the session state. */
export function spawnBlock(session: ShellSession, options: StartOptions): BackgroundHandle {
  const files = prepare(session, options);
  const started = start(session, files, options, false);
  return { pid: started.pid, done: started.result, stop: started.stop };
}

function stateComplete(file: string): boolean {
  try {
    return readFileSync(file, 'utf8').endsWith(`${STATE_END}\n`);
  } catch {
    // No EXIT trap ran: killed outright.
    return false;
  }
}

function failureInfo(files: Files, code: number | null): Pick<BlockResult, 'failedLine' | 'failedCommand'> {
  if (code === 0) return { failedLine: null, failedCommand: null };
  try {
    const [l, ...c] = readFileSync(files.errOut, 'utf8').split('\n');
    const command = c.join('\n');
    // The `. block` itself failed: bash could not parse the block (its message says where).
    if (command.startsWith('. ') && command.includes(files.block)) return { failedLine: null, failedCommand: null };
    return { failedLine: Number(l) || null, failedCommand: command || null };
  } catch {
    // No ERR trap ran: killed, or an explicit `exit N`.
    return { failedLine: null, failedCommand: null };
  }
}
