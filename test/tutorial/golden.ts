// A plan held still in a checked-in file: the first line that differs, and how to regenerate
// the file when the change is intended; and the steps a plan must hold, in order.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

export function assertGolden(actual: string, expectedFile: string, regenerate: string): void {
  const expected = readFileSync(expectedFile, 'utf8');
  if (actual === expected) return;
  const a = actual.split('\n');
  const e = expected.split('\n');
  const i = a.findIndex((line, n) => line !== e[n]);
  const at = i === -1 ? Math.min(a.length, e.length) : i;
  assert.fail(
    `the plan changed at line ${at + 1} of ${basename(expectedFile)}:\n` +
      `  expected: ${JSON.stringify(e[at])}\n  actual:   ${JSON.stringify(a[at])}\n` +
      `If the change is intended, regenerate it: ${regenerate}`,
  );
}

/** Each of `steps` occurs in `plan`, each at or after the one before. */
export function assertInOrder(plan: string, steps: readonly string[], what = 'the plan'): void {
  let from = 0;
  for (const s of steps) {
    const at = plan.indexOf(s, from);
    assert.ok(at >= 0, `"${s}" is missing from ${what}, or out of order`);
    from = at;
  }
}

/**
 * A plan script's command line, when `moduleUrl` is the script node was started with: print
 * the plan, or with --write regenerate `file` from it.
 */
export function printOrWrite(moduleUrl: string, plan: () => string, file: string): void {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== process.argv[1]) return;
  const text = plan();
  if (process.argv.includes('--write')) {
    writeFileSync(file, text);
    process.stderr.write(`wrote ${file}\n`);
  } else {
    process.stdout.write(text);
  }
}
