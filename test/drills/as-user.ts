// Running our programs as another, unprivileged uid, as the drills do when the tests run as
// root (root writes read-only files and folders, so the checks would prove nothing). That uid
// must be able to read the programs: a clone inside a folder only its owner may enter
// (`mktemp -d`, /root/...) is out of its reach, so it gets a copy of what they load (the
// sources, node_modules hard-linked) in a temp folder anyone may read.

import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const isRoot = process.getuid?.() === 0;
export const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** The command prefix that runs what follows as `uid` (and its own group, no others). */
export function dropTo(uid: number): string[] {
  if (!SETPRIV) throw new Error('setpriv not found (util-linux)');
  return [SETPRIV, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
}

/** Can `uid` read `file` (every folder above it searchable)? Asked of the kernel, as that uid. */
export function canRead(uid: number, file: string): boolean {
  return spawnSync(dropTo(uid)[0]!, [...dropTo(uid).slice(1), '/bin/sh', '-c', 'test -r "$1"', 'sh', file]).status === 0;
}

export interface Checkout {
  /** The project root `uid` can read: this checkout, or the copy. */
  root: string;
  copied: boolean;
  /** The same file under `root` (a path or file URL inside this checkout). */
  at(file: string): string;
  cleanup(): void;
}

/**
 * What the apps and the runner load at run time: the sources and their build (dist/, copied
 * with its dates, so the copy's build is as fresh as this checkout's and is not rebuilt where
 * that uid cannot write).
 */
const ENTRIES = ['apps', 'lib', 'runner', 'scripts', 'deploy', 'runner.mjs', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'dist'];

/**
 * This checkout when `uid` can read it (or when we are not root and will not switch);
 * otherwise a copy in a temp folder anyone may enter. Throws, naming the folder, if even the
 * copy is out of reach (TMPDIR itself in a private folder).
 */
export function checkoutFor(uid: number): Checkout {
  const at = (root: string) => (file: string) => {
    const p = file.startsWith('file:') ? fileURLToPath(file) : file;
    return path.join(root, path.relative(ROOT, p));
  };
  if (!isRoot || canRead(uid, path.join(ROOT, 'runner.mjs'))) return { root: ROOT, copied: false, at: at(ROOT), cleanup() {} };
  const dir = mkdtempSync(path.join(tmpdir(), 'checkout-'));
  chmodSync(dir, 0o755);
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    for (const e of ENTRIES) if (existsSync(path.join(ROOT, e))) cpSync(path.join(ROOT, e), path.join(dir, e), { recursive: true, preserveTimestamps: true });
    linkTree(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    if (!canRead(uid, path.join(dir, 'runner.mjs'))) throw new Error(`uid ${uid} cannot read ${dir} either: is ${tmpdir()} (TMPDIR) inside a private folder?`);
  } catch (e) {
    cleanup();
    throw e;
  }
  return { root: dir, copied: true, at: at(dir), cleanup };
}

/** Hard links where the file system allows them (fast, no space), copies where it does not. */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, e.name);
    const b = path.join(to, e.name);
    if (e.isDirectory()) linkTree(a, b);
    else if (e.isSymbolicLink()) cpSync(a, b, { verbatimSymlinks: true });
    else {
      try {
        linkSync(a, b);
      } catch {
        copyFileSync(a, b);
      }
    }
  }
}
