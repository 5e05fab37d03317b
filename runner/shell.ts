// One bash per block, in its own process group. The block's text goes to bash as a file it
// sources, never through JavaScript interpolation, so `${VAR}` and backticks are bash's.
//
// Exports and the working directory carry forward in a state file: bash writes `export -p`
// and a `cd` when a block ends, and the next block sources it. Blocks start from an empty
// environment, so the state file is the whole environment: a variable a block unset stays
// unset. The first state file is written here from the runner's own environment. No extra
// process per block: the state travels through bash builtins and small files.
//
// Run blocks are forked by the launcher (launcher.ts); background blocks, which run
// alongside others and need their own output streams, are spawned directly with zx.

import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLauncher, type Launcher } from './launcher.ts';
import { KILL_GRACE_MS, signalGroup } from './process-group.ts';

export interface ShellSession {
  readonly docDir: string;
  readonly tmp: string;
  readonly bash: string;
  /** The state file the next block starts from. */
  state: string;
  seq: number;
  readonly launcher: Launcher;
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

export function createSession(docDir: string): ShellSession {
  const bash = findBash();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tutorial-run-'));
  const state = path.join(tmp, '0.state');
  writeFileSync(state, initialState(process.env, docDir));
  return { docDir, tmp, bash, state, seq: 0, launcher: startLauncher(bash) };
}

export function closeSession(session: ShellSession): void {
  session.launcher.close();
  rmSync(session.tmp, { recursive: true, force: true });
}

/** The runner's environment and the document's folder, as a file bash can source. */
export function initialState(env: NodeJS.ProcessEnv, dir: string): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    // Only names bash can hold; bash keeps SHLVL, PWD and _ itself, and these are read-only.
    if (value === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    if (['SHLVL', 'PWD', 'OLDPWD', '_', 'SHELLOPTS', 'BASHOPTS', 'BASH_VERSINFO', 'EUID', 'UID', 'PPID'].includes(name)) continue;
    lines.push(`export ${name}=${bashQuote(value)}`);
  }
  lines.push(`cd -- ${bashQuote(dir)}`);
  return `${lines.join('\n')}\n`;
}

export function bashQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `s` as one shell word, quoted only when a shell would need it: for commands people read. */
export function shellWord(s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : bashQuote(s);
}

interface Files {
  block: string;
  wrapper: string;
  stateOut: string;
  errOut: string;
}

/** Write the block and the wrapper that runs it; returns their paths. */
function prepare(session: ShellSession, options: StartOptions, saveState: boolean): Files {
  const n = ++session.seq;
  const safeLabel = options.label.replace(/[^A-Za-z0-9._-]+/g, '_');
  const block = path.join(session.tmp, `${n}-${safeLabel}.sh`);
  const wrapper = path.join(session.tmp, `${n}.run`);
  const stateOut = path.join(session.tmp, `${n}.state`);
  const errOut = path.join(session.tmp, `${n}.err`);
  writeFileSync(block, options.text.endsWith('\n') ? options.text : `${options.text}\n`);
  const lines = [
    // Errors sourcing the state (a read-only name, a folder since removed) are not the block's.
    `. ${bashQuote(session.state)} 2>/dev/null`,
    `__tutorial_err=${bashQuote(errOut)}`,
    saveState ? `__tutorial_out=${bashQuote(stateOut)}` : '',
    // The first line records the exit code, to tell `exit 143` from a SIGTERM.
    saveState ? `trap '{ printf "# exit %s\\n" "$?"; export -p; printf "cd -- %q\\n" "$PWD"; } > "$__tutorial_out"' EXIT` : '',
    `trap 'printf "%s\\n%s" "$LINENO" "$BASH_COMMAND" > "$__tutorial_err"' ERR`,
    'set -Eeuo pipefail',
    `. ${bashQuote(block)}`,
  ];
  writeFileSync(wrapper, `${lines.filter(Boolean).join('\n')}\n`);
  return { block, wrapper, stateOut, errOut };
}

/** A run block: forked by the launcher; its exports and cwd become the session's state. */
export function runBlock(session: ShellSession, options: StartOptions): BlockHandle {
  const files = prepare(session, options, true);
  const launched = session.launcher.launch(files.wrapper, options);
  const kill = groupKiller(launched.pid);
  let timedOut = false;
  const timer = options.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        kill.stop();
      }, options.timeoutMs)
    : undefined;

  const done = launched.done.then(async (rc): Promise<BlockResult> => {
    clearTimeout(timer);
    const pid = await launched.pid;
    // The launcher sent SIGTERM to what the block left behind; make sure it goes.
    kill.afterExit(pid);
    if (rc === null) {
      return { code: null, signal: null, timedOut, failedLine: null, failedCommand: 'the runner lost its block launcher', script: files.block };
    }
    let recorded: number | null = null;
    let stateText: string | null = null;
    try {
      stateText = readFileSync(files.stateOut, 'utf8');
      recorded = Number(/^# exit (\d+)/.exec(stateText)?.[1] ?? NaN);
    } catch {
      // No EXIT trap ran: killed outright.
    }
    // A failed block's state still counts: `always` blocks after it see where it got to.
    if (stateText !== null) session.state = files.stateOut;
    const bySignal = rc > 128 && recorded !== rc ? signalName(rc - 128) : null;
    return { ...failureInfo(files, rc), code: bySignal ? null : rc, signal: bySignal, timedOut, script: files.block };
  });
  return { done, stop: () => kill.stop() };
}

/** A background block: its own bash, spawned directly; it does not change the session state. */
export async function spawnBlock(session: ShellSession, options: StartOptions): Promise<BackgroundHandle> {
  // zx loads only when a document has background blocks.
  const { $ } = await import('zx/core');
  const files = prepare(session, options, false);
  const cmd = `. ${bashQuote(files.wrapper)}`;
  const proc = $({
    shell: session.bash,
    prefix: '',
    postfix: '',
    cwd: session.docDir,
    env: {},
    detached: true,
    nothrow: true,
    quiet: true,
    verbose: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    // zx keeps every chunk by default; hours of background output should not pile up.
    store: NO_STORE,
  })(Object.assign([cmd], { raw: [cmd] }) as unknown as TemplateStringsArray);
  const child = proc.child!;
  const pid = child.pid!;
  child.stdout!.on('data', options.onStdout);
  child.stderr!.on('data', options.onStderr);
  const kill = groupKiller(Promise.resolve(pid));
  child.once('exit', () => kill.afterExit(pid));
  const done = (proc as Promise<{ exitCode: number | null; signal: string | null }>).then(
    (out): BlockResult => ({
      ...failureInfo(files, out.exitCode),
      script: files.block,
      code: out.exitCode,
      signal: (out.signal as NodeJS.Signals | null) ?? null,
      timedOut: false,
    }),
  );
  done.then(() => kill.clear());
  return { pid, done, stop: () => kill.stop() };
}

const sink = { push: () => 0, join: () => '', length: 0 };
const NO_STORE = { stdout: sink, stderr: sink, stdall: sink } as never;

function failureInfo(files: Files, code: number | null): Pick<BlockResult, 'failedLine' | 'failedCommand'> {
  if (code === 0) return { failedLine: null, failedCommand: null };
  try {
    const [l, ...c] = readFileSync(files.errOut, 'utf8').split('\n');
    const command = c.join('\n');
    // The wrapper's `. block` failed: bash could not parse the block (its message says where).
    if (command.startsWith('. ') && command.includes(files.block)) return { failedLine: null, failedCommand: null };
    return { failedLine: Number(l) || null, failedCommand: command || null };
  } catch {
    // No ERR trap ran: killed, or an explicit `exit N`.
    return { failedLine: null, failedCommand: null };
  }
}

/**
 * Stops a process group: SIGTERM now, SIGKILL after a grace period if anything is left.
 * The pid may not be known yet when stop() is called.
 */
function groupKiller(pidP: Promise<number>) {
  let timer: NodeJS.Timeout | undefined;
  const escalate = (pid: number) => {
    timer ??= setTimeout(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
  };
  return {
    stop() {
      void pidP.then((pid) => {
        if (pid <= 0) return;
        signalGroup(pid, 'SIGTERM');
        escalate(pid);
      });
    },
    /** The leader exited: end any stray `&` children it left (ordinary blocks only). */
    afterExit(pid: number) {
      if (pid <= 0) return;
      if (groupAlive(pid)) {
        signalGroup(pid, 'SIGTERM');
        escalate(pid);
      } else {
        clearTimeout(timer);
      }
    },
    clear() {
      clearTimeout(timer);
    },
  };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalName(n: number): NodeJS.Signals | null {
  const entry = Object.entries(os.constants.signals).find(([, v]) => v === n);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

function findBash(): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter)) {
    const p = path.resolve(dir || '.', 'bash');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // Not here.
    }
  }
  throw new Error('bash not found on PATH');
}
