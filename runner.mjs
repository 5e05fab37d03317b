#!/usr/bin/env node
// The runner's entry point: a zx program. Every block starts through zx's `$` (runner/shell.ts
// says how); this file runs the runner compiled (dist/runner/, built with this same zx by
// scripts/build.mjs when a source is newer than the last build), and exits with main()'s code.
// zx is loaded when there is something to run or build: --help and --list run nothing, and
// loading zx is a fifth of what they cost.
import v8 from 'node:v8';
import { load } from './scripts/build.mjs';

// No optimizing compiler (TurboFan): the runner is short-lived and mostly waits on its blocks,
// and TurboFan's background compiles cost more CPU than they save (measured in BENCHMARKS.md,
// runner section: a third of the CPU of a run with no blocks). Baseline-compiled code stays.
// Set before any of the runner's own code is loaded; the processes blocks start are unaffected.
v8.setFlagsFromString('--no-opt');

let code;
try {
  const { main } = await load('runner/main.ts');
  code = await main(process.argv.slice(2));
} catch (error) {
  // Not a usage error and not a block failing: a bug in the runner.
  process.stderr.write(`runner: internal error: ${error?.stack ?? error}\n`);
  code = 1;
}
// Let buffered output reach pipes before exiting; the event loop may hold stray handles.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
