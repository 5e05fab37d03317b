#!/usr/bin/env node
// The compiled JavaScript the entry points run (runner.mjs, scripts/local-mesh.mjs, and the
// apps local-mesh starts): tsc with tsconfig.build.json into the git-ignored dist/, from the
// one TypeScript source. `npm ci` builds it (package.json "prepare"); the entry points build
// it again whenever a source is newer than the last build, so an edited source is what runs.
// Type errors do not stop a build (--noCheck): `npm run typecheck` is where they are reported.
//
//   node scripts/build.mjs              build now (what `npm run build` and `npm ci` run)
//   node scripts/build.mjs --if-stale   only if a source is newer than the last build
//
// Plain JavaScript: it runs before anything is compiled.

import { cpSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const DIST = join(ROOT, 'dist');
/** Written after a build, dated when the build started: sources newer than it are not in dist/. */
const STAMP = join(DIST, '.built');
const LOCK = join(DIST, '.building');
const LOCK_STALE_MS = 120_000;
/** What tsconfig.build.json compiles, and what else the output depends on. */
const SOURCE_DIRS = ['apps', 'lib', 'runner', 'scripts'];
const SOURCE_FILES = ['tsconfig.json', 'tsconfig.build.json'];
const SOURCE_RE = /\.(ts|proto)$/;

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function newestSource() {
  let newest = Math.max(mtime(fileURLToPath(import.meta.url)), ...SOURCE_FILES.map((f) => mtime(join(ROOT, f))));
  for (const dir of SOURCE_DIRS) {
    for (const rel of readdirSync(join(ROOT, dir), { recursive: true })) {
      if (SOURCE_RE.test(rel)) newest = Math.max(newest, mtime(join(ROOT, dir, rel)));
    }
  }
  return newest;
}

/** dist/ holds a build of every source as it is now. */
export function isFresh() {
  const built = mtime(STAMP);
  return built > 0 && newestSource() <= built;
}

/**
 * Compile everything into dist/ (tsc through zx's `$`) and copy the .proto files the apps load
 * next to their compiled modules. Throws with tsc's output if it fails.
 */
export async function build() {
  const { $ } = await import('zx/core');
  const started = new Date();
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const out = await $({ cwd: ROOT, quiet: true, nothrow: true, verbose: false })`${process.execPath} ${tsc} -p tsconfig.build.json --noCheck`;
  if (out.exitCode !== 0) throw new Error(`tsc -p tsconfig.build.json failed:\n${out.stdout}${out.stderr}`);
  cpSync(join(ROOT, 'apps', 'proto'), join(DIST, 'apps', 'proto'), {
    recursive: true,
    filter: (src) => !src.endsWith('.ts'),
  });
  writeFileSync(STAMP, '');
  utimesSync(STAMP, started, started);
}

/** Build unless dist/ is current; one process at a time, the others wait for it. */
export async function ensureBuilt() {
  for (;;) {
    if (isFresh()) return;
    mkdirSync(DIST, { recursive: true });
    try {
      mkdirSync(LOCK);
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      // Another process is building; a lock left by one that died is cleared.
      if (Date.now() - mtime(LOCK) > LOCK_STALE_MS) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    try {
      if (!isFresh()) await build();
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}

/**
 * Import `source` (a .ts path from the repository root) compiled from dist/, building first
 * if needed. Where no build can be made (no typescript installed, a read-only checkout) the
 * TypeScript runs through tsx instead, and a line on stderr says why start-up is slow.
 */
export async function load(source) {
  let url;
  try {
    await ensureBuilt();
    url = pathToFileURL(join(DIST, source.replace(/\.ts$/, '.js')));
  } catch (e) {
    process.stderr.write(`note: running ${source} through tsx, could not build dist/: ${String(e?.message ?? e).split('\n')[0]}\n`);
    const { register } = await import('tsx/esm/api');
    register();
    url = pathToFileURL(join(ROOT, source));
  }
  return import(url.href);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === '--if-stale') await ensureBuilt();
  else await build();
}
