// What the benches wait for after starting one of the apps: its readiness line.

import type { ChildProcess } from 'node:child_process';

/**
 * Resolves with what `ready` reads from the child's stdout once it reads something (the
 * parsers of lib/readiness.ts); rejects if the child exits first.
 */
export function whenReady<T>(name: string, child: ChildProcess, ready: (out: string) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = ready(out);
      if (m !== undefined) {
        out = '';
        resolve(m);
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}`)));
  });
}
