// Background processes that outlive the command that started them: each in its own process
// group (so `down` ends it and anything it started), output appended to a log file, and
// recognised later by pid plus command line, so a recycled pid is never signalled.
// Each also carries its owner and name in its environment, so the processes of one demo can
// be found in /proc without the state file (which a crash or a stray edit may have damaged).

import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { signalGroup, stopGroup as stopProcessGroup } from '../../lib/process-group.ts';

export interface Proc {
  name: string;
  pid: number;
  /** A string that appears in the process's command line; guards against pid reuse. */
  mark: string;
  log: string;
  port?: number;
  /** How it was started (env: only what we set), so `restart` can start it again the same way. */
  args?: string[];
  env?: Record<string, string>;
  /** Server replicas: their Deployment and pod labels (which Services select them). */
  deployment?: string;
  labels?: Record<string, string>;
}

/**
 * The environment marker: the folder holding the demo's state (one per checkout, or per
 * LOCAL_MESH_DIR), and the process's name. Kept out of the command line on purpose: how a
 * program is started may change, who started it does not.
 */
export const OWNER_VAR = 'LOCAL_MESH_OWNER';
export const NAME_VAR = 'LOCAL_MESH_NAME';

/** `owner`: the state folder; by default the log's folder, since logs live there. */
export function startDetached(opts: { name: string; args: string[]; env: Record<string, string>; log: string; cwd: string; owner?: string }): Proc {
  const fd = openSync(opts.log, 'a');
  try {
    const child = spawn(process.execPath, opts.args, {
      cwd: opts.cwd,
      // Proc.env keeps only opts.env, so a restart re-marks the process rather than copying the marker.
      env: { ...process.env, ...opts.env, [OWNER_VAR]: opts.owner ?? dirname(opts.log), [NAME_VAR]: opts.name },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`${opts.name}: could not start`);
    return { name: opts.name, pid: child.pid, mark: programFile(opts.args), log: opts.log, args: opts.args, env: opts.env };
  } finally {
    closeSync(fd);
  }
}

/**
 * What names the process in its command line: the program file (a .ts run through tsx, or
 * the compiled .js), not the V8 flags before it, which every replica shares.
 */
function programFile(args: readonly string[]): string {
  return args.find((a) => /\.(ts|js|mjs)$/.test(a)) ?? args[0]!;
}

export function isAlive(p: Pick<Proc, 'pid' | 'mark'>): boolean {
  try {
    process.kill(p.pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z /.test(stat)) return false; // exited, not yet reaped
    return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes(p.mark);
  } catch {
    return process.platform !== 'linux';
  }
}

export interface Found {
  pid: number;
  name: string;
  /** Its command line as read (NUL-separated): the pid-reuse guard for stopGroup. */
  mark: string;
}

/**
 * Every live process whose environment names `owner` (Linux: /proc; elsewhere nothing is
 * found), one per process group: a group leader stands for the helpers it started (tsx's
 * esbuild service carries the marker too), which stopGroup ends with it. Never this process.
 */
export function findOwned(owner: string): Found[] {
  const tag = `${OWNER_VAR}=${owner}`;
  const found: Array<Found & { pgrp: number }> = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (!env.includes(tag)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const m = /^\d+ \(.*\) (\S) \d+ (\d+) /s.exec(stat);
      if (!m || m[1] === 'Z') continue;
      const name = env.find((e) => e.startsWith(`${NAME_VAR}=`))?.slice(NAME_VAR.length + 1) ?? '?';
      found.push({ pid: Number(entry), name, mark: readFileSync(`/proc/${entry}/cmdline`, 'utf8'), pgrp: Number(m[2]) });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  const pids = new Set(found.map((f) => f.pid));
  return found.filter((f) => f.pgrp === f.pid || !pids.has(f.pgrp)).map(({ pid, name, mark }) => ({ pid, name, mark }));
}

/** Wait until `find` finds something in the process's log (a RegExp: a match); fail early, with its last lines, if it exits. */
export async function waitForLog(p: Proc, find: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
export async function waitForLog<T>(p: Proc, find: (log: string) => T | undefined, timeoutMs: number): Promise<T>;
export async function waitForLog<T>(p: Proc, find: RegExp | ((log: string) => T | undefined), timeoutMs: number): Promise<T | RegExpExecArray> {
  const read = typeof find === 'function' ? find : (log: string) => find.exec(log) ?? undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readLog(p.log);
    const m = read(text);
    if (m !== undefined) return m;
    if (!isAlive(p)) throw new Error(`${p.name} exited before it was ready:\n${tail(text, 5)}`);
    if (Date.now() > deadline) throw new Error(`${p.name} was not ready within ${timeoutMs} ms:\n${tail(text, 5)}`);
    await sleep(50);
  }
}

/** What a process gets between SIGTERM and SIGKILL unless its caller names more (a server's drain). */
export const STOP_GRACE_MS = 5000;

/**
 * SIGTERM the process group, then SIGKILL whatever is left after `graceMs` (lib/process-group.ts).
 * "Alive" is this process by pid and mark, so a recycled pid is never signalled; a process found
 * that does not lead a group of its own is signalled alone.
 */
export function stopGroup(p: Pick<Proc, 'pid' | 'mark'>, graceMs = STOP_GRACE_MS): Promise<'stopped' | 'killed' | 'gone'> {
  return stopProcessGroup(p.pid, { graceMs, alive: () => isAlive(p), signal: (sig) => signalGroupOrProcess(p.pid, sig) });
}

function signalGroupOrProcess(pid: number, sig: NodeJS.Signals): void {
  if (signalGroup(pid, sig)) return;
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The bytes of `file` from `offset` on, and which file that is (its inode), read through one
 * descriptor so the two agree even while the log is being rotated. Missing file: ino undefined.
 */
export function readLogChunk(file: string, offset: number): { ino?: number; bytes: Buffer } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return { bytes: Buffer.alloc(0) };
  }
  try {
    const { ino, size } = fstatSync(fd);
    if (size <= offset) return { ino, bytes: Buffer.alloc(0) };
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    return { ino, bytes: buf.subarray(0, n) };
  } finally {
    closeSync(fd);
  }
}

function tail(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).map((l) => `  ${l}`).join('\n');
}
