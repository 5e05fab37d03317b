#!/usr/bin/env node
// Thin entry: load the TypeScript runner through tsx, run it, exit with its code.
// Everything else lives in runner/ (see runner/main.ts).
import { register } from 'tsx/esm/api';

register();

let code;
try {
  const { main } = await import('./runner/main.ts');
  code = await main(process.argv.slice(2));
} catch (error) {
  // Not a usage error and not a block failing: a bug in the runner.
  process.stderr.write(`runner: internal error: ${error?.stack ?? error}\n`);
  code = 1;
}
// Let buffered output reach pipes before exiting; the event loop may hold stray handles.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
