#!/usr/bin/env node
// Writes LICENSES.md: every package in package-lock.json with its version and licence (as its
// own package.json in node_modules says, or the lockfile for platform packages not installed
// here), production and dev apart, and which ones the images ship.
//   node scripts/licenses.mjs           write LICENSES.md
//   node scripts/licenses.mjs --check   exit 1 if LICENSES.md is not what it would write
// Exit 1 also when an installed package's licence differs from the lockfile's.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'LICENSES.md');

/** Licences we accept without a second look (permissive). Anything else is flagged in the file. */
export const PERMISSIVE = ['MIT', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD', 'CC0-1.0', 'BlueOak-1.0.0', 'Unlicense'];

/** A licence in the list, or an SPDX choice `(A OR B)` that lets us take one that is. */
export function isPermissive(license) {
  return license.replace(/^\((.*)\)$/, '$1').split(/\s+OR\s+/).some((l) => PERMISSIVE.includes(l));
}

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

/** `license` as npm allows it: an SPDX string, a legacy {type} object, or a `licenses` array. */
function licenseOf(pkg) {
  const l = pkg.license ?? pkg.licenses;
  if (typeof l === 'string') return l;
  if (Array.isArray(l)) return l.map((x) => (typeof x === 'string' ? x : x.type)).join(' OR ');
  if (l && typeof l === 'object') return l.type;
  return undefined;
}

/** MIT by its licence file, for a package whose package.json names no licence (khroma 2.1.0). */
function licenseFromFile(dir) {
  for (const name of ['license', 'LICENSE', 'LICENSE.md', 'license.md']) {
    const file = join(dir, name);
    if (existsSync(file) && /^\s*(The )?MIT License\b/i.test(readFileSync(file, 'utf8'))) return 'MIT';
  }
  return undefined;
}

/** The package a `require(name)` from `from` (a lockfile path) finds, as Node resolves it. */
function resolveIn(packages, from, name) {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

/** Lockfile paths the images hold: the production dependencies minus the runner's, with theirs. */
function imageSet(packages, rootPkg) {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const runnerOnly = (/ARG RUNNER_ONLY_DEPS="([^"]*)"/.exec(dockerfile)?.[1] ?? '').split(/\s+/).filter(Boolean);
  const seen = new Set();
  const visit = (from, name) => {
    const at = resolveIn(packages, from, name);
    if (!at || seen.has(at)) return;
    seen.add(at);
    for (const dep of Object.keys(packages[at].dependencies ?? {})) visit(at, dep);
  };
  for (const name of Object.keys(rootPkg.dependencies ?? {})) if (!runnerOnly.includes(name)) visit('', name);
  return seen;
}

export function collect() {
  const rootPkg = readJson(join(ROOT, 'package.json'));
  const lock = readJson(join(ROOT, 'package-lock.json'));
  const packages = lock.packages;
  const inImage = imageSet(packages, rootPkg);
  const direct = new Set([...Object.keys(rootPkg.dependencies ?? {}), ...Object.keys(rootPkg.devDependencies ?? {})]);
  const rows = [];
  const problems = [];
  for (const [path, entry] of Object.entries(packages)) {
    if (!path) continue;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const file = join(ROOT, path, 'package.json');
    const installed = existsSync(file);
    const pkg = installed ? readJson(file) : undefined;
    const license = (pkg && (licenseOf(pkg) ?? licenseFromFile(join(ROOT, path)))) ?? entry.license ?? 'UNKNOWN';
    if (pkg && entry.license && licenseOf(pkg) !== entry.license) problems.push(`${path}: package.json says ${licenseOf(pkg)}, the lockfile ${entry.license}`);
    if (pkg && pkg.version !== entry.version) problems.push(`${path}: installed ${pkg.version}, the lockfile says ${entry.version} (run npm ci)`);
    rows.push({
      name,
      version: entry.version,
      license,
      dev: entry.dev === true,
      optional: entry.optional === true,
      direct: direct.has(name) && path === `node_modules/${name}`,
      image: inImage.has(path),
    });
  }
  // One row per name@version, wherever it is nested.
  const merged = new Map();
  for (const r of rows) {
    const key = `${r.name}@${r.version}`;
    const m = merged.get(key);
    if (!m) merged.set(key, r);
    else Object.assign(m, { dev: m.dev && r.dev, optional: m.optional && r.optional, direct: m.direct || r.direct, image: m.image || r.image });
  }
  const list = [...merged.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version, undefined, { numeric: true }));
  return { rows: list, problems };
}

export function render(rows) {
  const count = (list) => {
    const by = {};
    for (const r of list) by[r.license] = (by[r.license] ?? 0) + 1;
    return Object.entries(by)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([l, n]) => `${l} ${n}`)
      .join(', ');
  };
  const flagged = rows.filter((r) => !isPermissive(r.license));
  const table = (list) => [
    '| Package | Version | Licence | |',
    '| --- | --- | --- | --- |',
    ...list.map((r) => {
      const notes = [r.direct ? 'direct' : '', r.image ? 'in the images' : '', r.optional ? 'optional (platform)' : ''].filter(Boolean).join(', ');
      return `| ${r.name} | ${r.version} | ${r.license}${isPermissive(r.license) ? '' : ' ⚠'} | ${notes} |`;
    }),
  ];
  const prod = rows.filter((r) => !r.dev);
  const dev = rows.filter((r) => r.dev);
  return [
    '# Licences of the dependencies',
    '',
    'Generated by `node scripts/licenses.mjs` from `package-lock.json` and each installed',
    "package's own `package.json` (the lockfile's record for platform packages not installed where",
    'it ran). Do not edit by hand; `test/licenses.test.ts` fails when it is out of date.',
    '',
    `- Production: ${prod.length} packages (${count(prod)}).`,
    `- In the images (production minus the runner's packages, as the Dockerfile prunes them): ${rows.filter((r) => r.image).length} packages (${count(rows.filter((r) => r.image))}).`,
    `- Development: ${dev.length} packages (${count(dev)}).`,
    `- Not in the permissive list (${PERMISSIVE.join(', ')}, or a choice of one of them): ${flagged.length ? flagged.map((r) => `${r.name} (${r.license})`).join(', ') : 'none'}.`,
    '',
    '## Production dependencies',
    '',
    ...table(prod),
    '',
    '## Development dependencies',
    '',
    ...table(dev),
    '',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const { rows, problems } = collect();
  for (const p of problems) process.stderr.write(`licenses: ${p}\n`);
  const text = render(rows);
  if (check) {
    const current = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
    if (current !== text) {
      process.stderr.write('licenses: LICENSES.md is out of date (run: node scripts/licenses.mjs)\n');
      process.exitCode = 1;
    }
  } else {
    writeFileSync(OUT, text);
    process.stdout.write(`wrote LICENSES.md: ${rows.length} packages\n`);
  }
  if (problems.length) process.exitCode = 1;
}
