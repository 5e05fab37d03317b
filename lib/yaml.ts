// The yaml library, loaded the first time something reads YAML rather than when a module that
// can read it is imported: loading it (74 files) is 19 ms of a runner start, which --help and a
// document without front matter or stage edits never need. Everything in this project that
// reads YAML does it through these functions; types come from 'yaml' as types only.

import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

let loaded: typeof Yaml | undefined;

function yaml(): typeof Yaml {
  return (loaded ??= createRequire(import.meta.url)('yaml') as typeof Yaml);
}

export const parseDocument = ((...args: Parameters<typeof Yaml.parseDocument>) => yaml().parseDocument(...args)) as typeof Yaml.parseDocument;
export const parseAllDocuments = ((...args: Parameters<typeof Yaml.parseAllDocuments>) => yaml().parseAllDocuments(...args)) as typeof Yaml.parseAllDocuments;
export const isMap = ((node: unknown) => yaml().isMap(node)) as typeof Yaml.isMap;
export const isScalar = ((node: unknown) => yaml().isScalar(node)) as typeof Yaml.isScalar;

export function lineCounter(): Yaml.LineCounter {
  return new (yaml().LineCounter)();
}
