// A string as one shell word, for commands people read: zx's `quote`, loaded on first use.
// The UI prints such commands only during a run, when zx is loaded anyway; --list and --help
// print none and do not load zx (a fifth of their start-up).

import { createRequire } from 'node:module';

type Quote = (s: string) => string;
let quote: Quote | undefined;

export function shellWord(s: string): string {
  // zx's CommonJS build: the same module instance `import 'zx/core'` gets.
  quote ??= (createRequire(import.meta.url)('zx/core') as { quote: Quote }).quote;
  return quote(s);
}
