// Runs `node scripts/local-mesh.mjs ARGS` as a reader does, with the test's environment; the
// exit code and both outputs, whatever the outcome.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', '..', 'scripts', 'local-mesh.mjs');

export function localMesh(env: NodeJS.ProcessEnv, args: readonly string[], timeoutMs = 60_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: timeoutMs }, (e, out, err) => resolve({ code: e ? Number(e.code) : 0, out, err }));
  });
}
