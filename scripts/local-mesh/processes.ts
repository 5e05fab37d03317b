// Background processes that outlive the command that started them: each in its own process
// group (so `down` ends it and anything it started), output appended to a log file, and
// recognised later by pid plus command line, so a recycled pid is never signalled.

import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

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

export function startDetached(opts: { name: string; args: string[]; env: Record<string, string>; log: string; cwd: string }): Proc {
  const fd = openSync(opts.log, 'a');
  try {
    const child = spawn(process.execPath, opts.args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`${opts.name}: could not start`);
    return { name: opts.name, pid: child.pid, mark: opts.args.find((a) => a.endsWith('.ts')) ?? opts.args[0]!, log: opts.log, args: opts.args, env: opts.env };
  } finally {
    closeSync(fd);
  }
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

/** Wait until the process's log matches `re`; fail early, with its last lines, if it exits. */
export async function waitForLog(p: Proc, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readLog(p.log);
    const m = re.exec(text);
    if (m) return m;
    if (!isAlive(p)) throw new Error(`${p.name} exited before it was ready:\n${tail(text, 5)}`);
    if (Date.now() > deadline) throw new Error(`${p.name} was not ready within ${timeoutMs} ms:\n${tail(text, 5)}`);
    await sleep(50);
  }
}

/** SIGTERM the process group, then SIGKILL whatever is left after `graceMs`. */
export async function stopGroup(p: Pick<Proc, 'pid' | 'mark'>, graceMs = 5000): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isAlive(p)) return 'gone';
  signalGroup(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(p)) return 'stopped';
    await sleep(25);
  }
  signalGroup(p.pid, 'SIGKILL');
  return 'killed';
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The bytes of `file` from `offset` on (empty if it is missing or has not grown). */
export function readLogFrom(file: string, offset: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function tail(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).map((l) => `  ${l}`).join('\n');
}
