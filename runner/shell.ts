// How a block runs: through zx's `$`, as a ProcessPromise, one bash per block in its own
// process group (`detached`). The block's text goes to bash as a file it sources, never
// through JavaScript interpolation, so `${VAR}` and backticks are bash's; the command zx runs
// is `. <block file>`, after a prefix (zx's `prefix` option, which by default holds zx's own
// `set -euo pipefail;`) that sets the block up.
//
// Each bash is started one block ahead: while a block runs, the next one's bash starts and
// waits on a pipe (fd 3) for one line naming its block and the state to start from. Starting
// a process and bash's own start-up are most of what a short block costs; this way they
// happen while the previous block runs instead of between blocks. Once it has its line, the
// bash closes the pipe; the block's stdin is /dev/null.
//
// Exports and the working directory carry forward in a state file: the prefix sources the
// previous block's, and an EXIT trap writes `export -p` and a `cd` when the block ends. Blocks
// start from an empty environment, so the state file is the whole environment: a variable a
// block unset stays unset. The first state file is written here from the runner's own
// environment. An ERR trap records the line and command set -e stopped at (FILE:LINE).
//
// zx does the rest: exit code or signal, the output streams, the stop (zx's abort signals a
// detached process's whole group). The timeout is the runner's own timer, since zx's starts
// when the process does and a bash started ahead may wait a long time for its block.
// runner/process-group.ts has what zx has no notion of: SIGKILL after the grace period, and
// the `&` children a finished block leaves behind.

import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { $, quote, which } from 'zx/core';
import { groupAlive, killGroupAfterGrace, signalGroup } from './process-group.ts';

export interface ShellSession {
  readonly docDir: string;
  readonly tmp: string;
  readonly bash: string;
  /** The state file the next block starts from. */
  state: string;
  seq: number;
  /** The bash started ahead for the next block, waiting for it (see the top of this file). */
  spare: WaitingBash | null;
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
  const tmp = mkdtempSync(path.join(sessionParent(process.env), 'tutorial-run-'));
  const state = path.join(tmp, '0.state');
  writeFileSync(state, initialState(process.env, docDir));
  return { docDir, tmp, bash, state, seq: 0, spare: null };
}

/**
 * Where the session's files go. Each block creates three small files (the block, its state,
 * and on failure its error); on a disk file system (ext4) creating a file costs a block about
 * as much as the rest of the runner's own work, on a memory one (tmpfs) nearly nothing. So,
 * unless TMPDIR names a place, a per-user runtime folder (XDG_RUNTIME_DIR) or /dev/shm where
 * there is one we may write, and the system's temporary folder otherwise.
 */
export function sessionParent(env: NodeJS.ProcessEnv): string {
  if (env.TMPDIR) return os.tmpdir();
  for (const dir of [env.XDG_RUNTIME_DIR, '/dev/shm']) {
    if (!dir || !path.isAbsolute(dir)) continue;
    try {
      if (!statSync(dir).isDirectory()) continue;
      accessSync(dir, constants.W_OK | constants.X_OK);
      return dir;
    } catch {
      // Not there, or not ours to write: the next one.
    }
  }
  return os.tmpdir();
}

export function closeSession(session: ShellSession): void {
  // The bash waiting for a next block: closing its pipe ends its `read`, and it exits.
  session.spare?.go('');
  session.spare = null;
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

interface Files {
  block: string;
  stateOut: string;
  errOut: string;
}

/** Write the block where bash will source it; name the files its traps write. */
function prepare(session: ShellSession, options: StartOptions & { saveState: boolean }): Files & { line: string } {
  const n = ++session.seq;
  const safeLabel = options.label.replace(/[^A-Za-z0-9._-]+/g, '_');
  const name = `${n}-${safeLabel}.sh`;
  const block = path.join(session.tmp, name);
  writeFileSync(block, options.text.endsWith('\n') ? options.text : `${options.text}\n`);
  // What the waiting bash reads: the state to start from, the block's number, its file, and
  // whether to save its state. Names within the session folder, of characters bash's `read`
  // splits cleanly.
  const line = `${path.basename(session.state)} ${n} ${name} ${options.saveState ? 1 : 0}\n`;
  return { block, stateOut: path.join(session.tmp, `${n}.state`), errOut: path.join(session.tmp, `${n}.err`), line };
}

/**
 * The command a waiting bash runs once it has its line (startBash's template, which zx takes
 * only as literal text, so it is written there again: keep the two alike); BASH_COMMAND names
 * it when bash cannot parse the block.
 */
const SOURCE_BLOCK = '. "$__tutorial_dir/$__tutorial_block"';

/** What runs before the block: wait for its line, the state in, the traps, bash's strict mode. */
function blockPrefix(session: ShellSession): string {
  return [
    `__tutorial_dir=${quote(session.tmp)}`,
    // No line (the runner closed the pipe: the session is over): nothing to run.
    "IFS=' ' read -r __tutorial_in __tutorial_n __tutorial_block __tutorial_save <&3 || exit 0",
    // Say it has its block (so that a bash gone before it took one is not taken for the block).
    "printf '\\n' >&3 2>/dev/null",
    'exec 3<&-',
    // Errors sourcing the state (a read-only name, a folder since removed) are not the block's.
    '. "$__tutorial_dir/$__tutorial_in" 2>/dev/null',
    '__tutorial_err=$__tutorial_dir/$__tutorial_n.err',
    '__tutorial_out=$__tutorial_dir/$__tutorial_n.state',
    `[ "$__tutorial_save" = 0 ] || trap '{ export -p; printf "cd -- %q\\n${STATE_END}\\n" "$PWD"; } > "$__tutorial_out"' EXIT`,
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

/** A bash started through zx, waiting for the line that names its block. */
interface WaitingBash {
  pid: number;
  /** Give it its block: one line on its pipe. */
  go(line: string): void;
  /** Where its output goes once it runs a block. */
  onStdout: (chunk: Buffer) => void;
  onStderr: (chunk: Buffer) => void;
  /** Once SIGTERM went out: SIGKILL what is left after the grace period. */
  escalate(): void;
  /** Stop it, its block and what the block started (zx's abort, then the grace period). */
  stop(): void;
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; startError: Error | null }>;
  /** It said it has its block: from then on, how it ends is how the block ended. */
  readonly tookBlock: boolean;
}

const ignore = () => {};

/** Start a bash that waits on its pipe for its block (see the top of this file). */
function startBash(session: ShellSession): WaitingBash {
  let cancelKill: (() => void) | undefined;
  let settled = false;
  // The command after the prefix is SOURCE_BLOCK, as the literal text zx takes.
  const proc = $({
    shell: session.bash,
    prefix: blockPrefix(session),
    postfix: '',
    cwd: session.docDir,
    // The state file is the whole environment.
    env: {},
    // fd 3 carries the block's line. Not stdin: Node's pipes are sockets, and bash reads
    // ~/.bashrc when its stdin is a socket (it takes that for sshd); blocks get /dev/null.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    // Its own process group: its pid is the group id, and zx's abort signals the whole group.
    detached: true,
    nothrow: true,
    quiet: true,
    verbose: false,
    // Set here, so that ZX_* variables in the runner's environment do not change how blocks run.
    preferLocal: false,
    store: discardingStore(),
    timeout: 0,
  })`. "$__tutorial_dir/$__tutorial_block"`;
  const child = proc.child;
  const pid = proc.pid ?? -1;
  let tookBlock = false;
  const bash: WaitingBash = {
    pid,
    go(line) {
      (child?.stdio[3] as Writable | undefined)?.end(line);
    },
    onStdout: ignore,
    onStderr: ignore,
    // If the leader has exited by the end of the grace period, stop waiting for pipes still
    // held open (by a process that left the group).
    escalate() {
      cancelKill ??= killGroupAfterGrace(pid, () => {
        if (!settled && child && (child.exitCode !== null || child.signalCode !== null)) {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }
      });
    },
    stop() {
      if (proc.stage !== 'running' || pid <= 0) return;
      proc.abort();
      bash.escalate();
    },
    // A native promise: every then() on a ProcessPromise makes another ProcessPromise, and zx
    // arms each one with guards (about 0.04 ms a block each, under the runner's --no-opt).
    get tookBlock() {
      return tookBlock;
    },
    ended: new Promise((resolve, reject) => {
      void proc.then((out) => {
        settled = true;
        if (cancelKill && !groupAlive(pid)) cancelKill();
        const error = out.cause;
        resolve({ code: out.exitCode, signal: out.signal, startError: error && error.name !== 'AbortError' ? error : null });
      }, reject);
    }),
  };
  // A closed pipe (the bash is gone) is what `ended` reports.
  child?.stdio[3]?.on('error', ignore);
  child?.stdio[3]?.once('data', () => {
    tookBlock = true;
  });
  child?.stdout?.on('data', (c: Buffer) => bash.onStdout(c));
  child?.stderr?.on('data', (c: Buffer) => bash.onStderr(c));
  // The leader exited: what it started with `&` and left running ends with it.
  child?.once('exit', () => {
    if (signalGroup(pid, 'SIGTERM')) bash.escalate();
  });
  return bash;
}

/** The bash started ahead, or a new one if there is none. */
function takeBash(session: ShellSession): WaitingBash {
  const bash = session.spare ?? startBash(session);
  session.spare = null;
  return bash;
}

interface Started {
  pid: number;
  files: Files;
  result: Promise<BlockResult>;
  stop(): void;
}

/** Run the block in a waiting bash; the result says how it ended. */
function start(session: ShellSession, options: StartOptions & { saveState: boolean }): Started {
  const files = prepare(session, options);
  let timedOut = false;
  let stopped = false;
  let bash = takeBash(session);
  const give = (to: WaitingBash) => {
    to.onStdout = options.onStdout;
    to.onStderr = options.onStderr;
    to.go(files.line);
  };
  const timer =
    options.timeoutMs && options.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          signalGroup(bash.pid, 'SIGTERM');
          bash.escalate();
        }, options.timeoutMs)
      : undefined;
  give(bash);
  // The next block's bash starts while this one runs.
  session.spare = startBash(session);
  // A bash started ahead that was gone before it took the block (killed from outside while it
  // waited) ran nothing: the block goes to a new one, once.
  const ended = bash.ended.then((out) => {
    if (bash.tookBlock || stopped || timedOut) return out;
    bash = takeBash(session);
    give(bash);
    return bash.ended;
  });
  const result = ended.then((out) => {
    clearTimeout(timer);
    const base = { script: files.block, timedOut, code: out.code, signal: out.signal };
    if (out.startError) return { ...base, failedLine: null, failedCommand: `bash could not start: ${out.startError.message}` };
    return { ...base, ...failureInfo(files, out.code) };
  });
  return {
    get pid() {
      return bash.pid;
    },
    files,
    result,
    stop() {
      stopped = true;
      bash.stop();
    },
  };
}

/** A run block: its exports and working directory become the session's state. */
export function runBlock(session: ShellSession, options: StartOptions): BlockHandle {
  const started = start(session, { ...options, saveState: true });
  const { stateOut } = started.files;
  const done = started.result.then((result) => {
    // A failed block's state still counts: `always` blocks after it see where it got to.
    if (stateComplete(stateOut)) session.state = stateOut;
    return result;
  });
  return { done, stop: started.stop };
}

/** A background block: its own bash alongside the others; it does not change the session state. */
export function spawnBlock(session: ShellSession, options: StartOptions): BackgroundHandle {
  const started = start(session, { ...options, saveState: false });
  return {
    // The bash that runs it (a new one if the one started ahead was gone).
    get pid() {
      return started.pid;
    },
    done: started.result,
    stop: started.stop,
  };
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
    if (command === SOURCE_BLOCK) return { failedLine: null, failedCommand: null };
    return { failedLine: Number(l) || null, failedCommand: command || null };
  } catch {
    // No ERR trap ran: killed, or an explicit `exit N`.
    return { failedLine: null, failedCommand: null };
  }
}
