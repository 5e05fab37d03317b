// A fresh copy of the project for a whole-tutorial run (the local-walk test, `npm run bench`):
// a git repository of its own, so the run cannot disturb the working tree other tests read,
// and so `git status` there can show it leaves nothing behind; and `node runner.mjs` run in it.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Tracked and untracked-but-not-ignored files, as the working tree has them; node_modules linked. */
export function copyProject(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    try {
      cpSync(path.join(ROOT, f), path.join(dir, f));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // deleted but not yet staged
    }
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '-qm', 'copy');
  return dir;
}

/**
 * The environment for `node runner.mjs` in the copy: plain output, and local-mesh state in
 * the copy's own .local-mesh rather than wherever the caller's LOCAL_MESH_DIR points.
 */
export function copyEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.LOCAL_MESH_DIR;
  return env;
}

export interface CopyRun {
  /** The runner's exit code; null when it was killed (at the timeout). */
  code: number | null;
  /** stdout and stderr, interleaved as they came. */
  out: string;
  /** Wall time from spawn to close. */
  ms: number;
}

/** `node runner.mjs ARGS` in the copy with copyEnv(), killed (SIGKILL) after timeoutMs. */
export function runCopy(dir: string, args: readonly string[], timeoutMs: number): Promise<CopyRun> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['runner.mjs', ...args], { cwd: dir, env: copyEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - t0 });
    }),
  );
}
