// Shared by the runner tests: temp folders with fixture documents, and `node runner.mjs`
// spawned with a deadline and killed by pid whatever happens.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitGone as waitGoneFor } from '../../lib/process-group.ts';
import { shellWord } from '../../runner/shell-word.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RUNNER = path.join(ROOT, 'runner.mjs');
export const SEED = path.resolve(ROOT, '../shared/seed/000_65281452cb9f7ce2.txt');
/** The skip reason for the source tutorial's tests where ../shared is not beside the clone (CI has it). */
export const NO_SEED: string | false = existsSync(SEED) ? false : `the source tutorial is not here (${SEED}): ../shared is not beside this clone`;

export interface TempDir {
  dir: string;
  write(name: string, text: string): string;
  read(name: string): string;
  cleanup(): void;
}

export function tempDir(): TempDir {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runner-test-'));
  return {
    dir,
    write(name, text) {
      const p = path.join(dir, name);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, text);
      return p;
    },
    read(name) {
      return readFileSync(path.join(dir, name), 'utf8');
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A small TrafficSplit with a comment, for stage-edit fixtures (the comment must survive). */
export const FIXTURE_SPLIT = `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata:
  name: s # keep me
spec:
  service: apex
  backends:
    - service: v1
      weight: 100
`;

/**
 * The demo's TrafficSplit: apex `server`, backends server-<version> with these weights (in
 * order). Here rather than in test/mesh/helpers.ts so runner tests get it without loading gRPC.
 */
export const trafficSplit = (weights: Record<string, number | string>) => `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata:
  name: server-split
spec:
  service: server
  backends:
${Object.entries(weights)
  .map(([v, w]) => `    - service: server-${v}\n      weight: ${w}`)
  .join('\n')}
`;

/**
 * Front matter for fixture documents that stand for this project: its two targets. TARGETS
 * declares only them (3 lines); PROJECT also follows the traffic the way tutorial.md's front
 * matter does, with this clone's paths, since fixtures live in temp folders (`manifests`:
 * where the Services are, default this clone's deploy/). Fixture line numbers count
 * PROJECT's lines: PROJECT_LINES.
 */
export const TARGETS_FRONT_MATTER = '---\ntargets: {local: , kind: }\n---\n';
export const projectFrontMatter = (manifests = path.join(ROOT, 'deploy')) => `---
targets:
  local:
    traffic: {follow: ${JSON.stringify(`test -f "\${LOCAL_MESH_DIR:-${ROOT}/.local-mesh}/state.json" && exec node ${shellWord(path.join(ROOT, 'scripts/local-mesh.mjs'))} logs -f --json client`)}}
    direct: blocks
  kind:
    verify-timeout: 120s
    traffic: {follow: exec kubectl logs -f -n link deploy/client -c client --tail=20, retry: 3s}
    direct: {follow: exec kubectl logs -f -n link pod/client-direct}
manifests: ${JSON.stringify(manifests)}
---
`;
export const PROJECT_LINES = 11;

/** A one-replica Deployment of `app` at `version` and its Service `app-version`, as manifests. */
export const versionManifests = (app: string, version: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${app}-${version}}
spec:
  replicas: 1
  template:
    metadata: {labels: {app: ${app}, version: ${version}}}
    spec: {containers: [{name: ${app}, image: ${app}}]}
---
apiVersion: v1
kind: Service
metadata: {name: ${app}-${version}}
spec: {selector: {app: ${app}, version: ${version}}}
`;

/** A fenced block, so fixtures read like the documents they stand for. */
export function fence(info: string, body: string): string {
  return `\`\`\`${info}\n${body.replace(/\n$/, '')}\n\`\`\`\n`;
}

export interface RunOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout+stderr match; rejects after `ms` with what was printed. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  done: Promise<RunOutput>;
  /** Kill by pid if still running (for finally blocks). */
  kill(): void;
}

/** Environment for a spawned runner: no colour, and not "CI" unless a test says so. */
export function testEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.CI;
  delete env.FORCE_COLOR;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function startRunner(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: 'ignore' | 'pipe'; timeoutMs?: number; command?: string[] },
): Running {
  const command = options.command ?? [process.execPath, RUNNER, ...args];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: options.cwd,
    env: options.env ?? testEnv(),
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  const notify = () => waiters.slice().forEach((w) => w());
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    notify();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString('utf8');
    notify();
  });
  const deadline = options.timeoutMs ?? 60_000;
  const done = new Promise<RunOutput>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid!, 'SIGKILL');
      } catch {}
      reject(new Error(`runner did not finish within ${deadline}ms\nstdout:\n${out}\nstderr:\n${err}`));
    }, deadline);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  done.catch(() => {});
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    waitFor(pattern, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out + err)) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} within ${ms}ms\nstdout:\n${out}\nstderr:\n${err}`));
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          const i = waiters.indexOf(check);
          if (i >= 0) waiters.splice(i, 1);
        };
        waiters.push(check);
        check();
      });
    },
    done,
    kill() {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid!, 'SIGKILL');
        } catch {}
      }
    },
  };
}

/** Run to the end (with a deadline), killing the runner by pid if anything goes wrong. */
export async function runRunner(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: 'ignore' | 'pipe'; timeoutMs?: number },
): Promise<RunOutput> {
  const r = startRunner(args, options);
  if (options.stdin === 'pipe') r.child.stdin!.end();
  try {
    return await r.done;
  } finally {
    r.kill();
  }
}

/**
 * The runner on a pseudo-terminal (util-linux `script`), for the prompts. Its stdin stays
 * open for `type()`; the runner's own pid is not script's, so tests have blocks write $PPID.
 */
export function startOnPty(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }) {
  // `script` runs the command through $SHELL -c; dash (Debian's sh, and script's choice when
  // SHELL is unset, which is how CI failed here) forks instead of exec'ing, so say exec: the
  // runner is then script's only child, whatever the shell.
  const cmd = ['exec', ...[process.execPath, RUNNER, ...args].map(shellWord)].join(' ');
  const r = startRunner([], {
    ...options,
    stdin: 'pipe',
    command: ['script', '-qfec', cmd, '/dev/null'],
  });
  return {
    ...r,
    type(text: string) {
      r.child.stdin!.write(text);
    },
  };
}

export function hasScript(): boolean {
  return ['/usr/bin/script', '/bin/script'].some((p) => existsSync(p));
}

// isAlive: alive and not a zombie (an orphaned zombie is as good as gone).
export { killAll, processAlive as isAlive } from '../../lib/process-group.ts';

/** How long the tests give what a run started to be gone. */
const GONE_MS = 5000;

/** Wait until none of the pids is alive, up to `ms`; returns those still alive. */
export function waitGone(pids: number[], ms = GONE_MS): Promise<number[]> {
  return waitGoneFor(pids, ms);
}

export function readPids(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
}

export async function waitForFile(file: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > end) throw new Error(`${file} did not appear within ${ms}ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
