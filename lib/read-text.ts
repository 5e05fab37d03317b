// Reading a file the user named, with one wording when it cannot be read: `FILE: cannot read
// (ENOENT)`. Each caller gives its own error type (and exit code) through `fail`.

import { readFileSync } from 'node:fs';

export function readText(file: string, fail: (message: string) => Error): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw fail(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}
