#!/usr/bin/env node
// The runner's entry point: a zx program. Every block starts through zx's `$` (runner/shell.ts
// says how); this file runs the runner compiled (dist/runner/, built with this same zx by
// scripts/build.mjs when a source is newer than the last build), and exits with main()'s code.
import { $ } from 'zx/core';
import { load } from './scripts/build.mjs';

let code;
try {
  const { main } = await load('runner/main.ts', $);
  code = await main(process.argv.slice(2));
} catch (error) {
  // Not a usage error and not a block failing: a bug in the runner.
  process.stderr.write(`runner: internal error: ${error?.stack ?? error}\n`);
  code = 1;
}
// Let buffered output reach pipes before exiting; the event loop may hold stray handles.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
