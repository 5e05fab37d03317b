#!/usr/bin/env node
// Thin entry: run the compiled verb (dist/, see scripts/build.mjs), map errors to one line and an exit code.
import { load } from './build.mjs';

const { main, UsageError, USAGE } = await load('scripts/local-mesh/cli.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  const usage = e instanceof UsageError;
  process.stderr.write(`local-mesh: ${e instanceof Error ? e.message : String(e)}\n`);
  if (usage) process.stderr.write(`${USAGE}\n`);
  process.exitCode = usage ? 2 : 1;
}
