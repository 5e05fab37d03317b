// Runs `node scripts/local-mesh.mjs ARGS` as a reader does, with the test's environment; the
// exit code and both outputs, whatever the outcome. An exit with no numeric code (killed by a
// signal or the timeout, or not started) is code 1.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', '..', 'scripts', 'local-mesh.mjs');

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** `node scripts/local-mesh.mjs ARGS` with this environment (in `cwd` if given); never throws. */
export function localMesh(env: NodeJS.ProcessEnv, args: readonly string[], timeoutMs = 60_000, cwd?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: timeoutMs, cwd }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err });
    });
  });
}
