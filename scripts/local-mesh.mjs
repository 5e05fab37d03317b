#!/usr/bin/env node
// Thin entry: load the TypeScript, run the verb, map errors to one line and an exit code.
import { register } from 'tsx/esm/api';

register();
const { main, UsageError, USAGE } = await import('./local-mesh/cli.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  const usage = e instanceof UsageError;
  process.stderr.write(`local-mesh: ${e instanceof Error ? e.message : String(e)}\n`);
  if (usage) process.stderr.write(`${USAGE}\n`);
  process.exitCode = usage ? 2 : 1;
}
