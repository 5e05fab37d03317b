// The apps as compiled JavaScript, for measuring what a compiled start costs and runs like
// (the images and, once built, the local target run the tsc output, not tsx). The build goes
// to a temporary folder beside a link to this project's node_modules, so package imports
// resolve as they would from dist/.

import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `tsc -p tsconfig.build.json` into a fresh folder (with the .proto files); remove() deletes it. */
export function buildCompiled(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-dist-'));
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', dir], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  cpSync(path.join(ROOT, 'apps/proto/demo'), path.join(dir, 'apps/proto/demo'), { recursive: true, filter: (f) => !f.endsWith('.ts') });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Node arguments that run `file` (a path like apps/mesh/main.ts): from `compiledDir` when given, else through tsx. */
export function programArgs(file: string, compiledDir?: string): string[] {
  return compiledDir ? [path.join(compiledDir, file.replace(/\.ts$/, '.js'))] : ['--import', 'tsx', file];
}
