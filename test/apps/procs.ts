// Test helpers: run the demo programs as real processes (`node --import tsx apps/.../main.ts`)
// on loopback, collect their output line by line, and stop them by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseServerListening, type Listening } from '../../lib/readiness.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

// Variables the apps read: never inherit them from the test's own environment.
const APP_VARS = [
  'VERSION', 'POD_NAME', 'PORT', 'HOST', 'MAX_CONNECTION_AGE_MS', 'FAULT_LATENCY_MS', 'FAULT_ERROR_RATE',
  'FAULT_ERROR_CODE', 'GRACE_MS', 'SERVER_ADDR', 'AUTHORITY', 'RATE', 'CONCURRENCY', 'DEADLINE_MS',
  'INTERVAL_MS', 'LOG_FORMAT', 'HEADER', 'HEADER_SHARE',
];

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface AppProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<Exit>;
  /** Resolves once `pred(stdout lines)` holds. */
  waitFor(pred: (lines: string[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

const running = new Set<AppProcess>();

export function spawnApp(app: 'server' | 'client', env: Record<string, string>): AppProcess {
  const base = { ...process.env };
  for (const k of APP_VARS) delete base[k];
  const child = spawn(process.execPath, ['--import', 'tsx', `apps/${app}/main.ts`], {
    cwd: root,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  const collect = (into: string[]) => {
    let buf = '';
    return (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        into.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      for (const l of listeners) l();
    };
  };
  child.stdout!.on('data', collect(stdout));
  child.stderr!.on('data', collect(stderr));
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const l of listeners) l();
  });

  const waitFor = (pred: (lines: string[]) => boolean, what: string, timeoutMs = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pred(stdout)) {
          done();
          resolve();
        } else if (gone) {
          done();
          reject(new Error(`${app} exited before ${what}; stdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; stdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  const proc: AppProcess = {
    child,
    stdout,
    stderr,
    exited,
    waitFor,
    kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** A server process on 127.0.0.1, port 0; resolves once it printed its listening line. */
export async function startServerProcess(env: Record<string, string>): Promise<{ proc: AppProcess; port: number }> {
  const proc = spawnApp('server', { HOST: '127.0.0.1', PORT: '0', ...env });
  let listening: Listening | undefined;
  await proc.waitFor((lines) => lines.some((l) => (listening = parseServerListening(l)) !== undefined), 'the listening line');
  return { proc, port: listening!.port };
}

/** Kill whatever is still running (for `after` hooks) and wait for it to go. */
export async function stopAll(): Promise<void> {
  const left = [...running];
  for (const p of left) p.kill('SIGKILL');
  await Promise.all(left.map((p) => p.exited));
}
