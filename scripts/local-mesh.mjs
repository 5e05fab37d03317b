#!/usr/bin/env node
// Thin entry: run the compiled verb (dist/, see scripts/build.mjs), map errors to one line and an exit code.
import { load } from './build.mjs';

const { main, exitCodeOf, UsageError, USAGE } = await load('scripts/local-mesh/cli.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`local-mesh: ${e instanceof Error ? e.message : String(e)}\n`);
  if (e instanceof UsageError) process.stderr.write(`${USAGE}\n`);
  process.exitCode = exitCodeOf(e);
}
