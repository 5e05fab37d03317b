// LICENSES.md is what scripts/licenses.mjs writes from the installed packages, every licence
// is a permissive one, and the images' share of the list leaves out the runner's packages.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
// @ts-expect-error: a plain .mjs script, no types
import { collect, isPermissive, render } from '../scripts/licenses.mjs';

const ROOT = join(import.meta.dirname, '..');

interface Row {
  name: string;
  version: string;
  license: string;
  dev: boolean;
  image: boolean;
}

test('LICENSES.md is up to date (node scripts/licenses.mjs --check)', async () => {
  const r = await new Promise<{ code: number; err: string }>((resolve) =>
    execFile(process.execPath, [join(ROOT, 'scripts', 'licenses.mjs'), '--check'], (e, _out, err) => resolve({ code: e ? Number(e.code) : 0, err })),
  );
  assert.equal(r.code, 0, r.err);
  const { rows } = collect() as { rows: Row[] };
  assert.equal(readFileSync(join(ROOT, 'LICENSES.md'), 'utf8'), render(rows));
});

test('every dependency has a permissive licence; the images hold the apps\' packages and not the runner\'s', () => {
  const { rows, problems } = collect() as { rows: Row[]; problems: string[] };
  assert.deepEqual(problems, []);
  assert.deepEqual(rows.filter((r) => !isPermissive(r.license)).map((r) => `${r.name} ${r.license}`), []);
  const image = new Set(rows.filter((r) => r.image).map((r) => r.name));
  for (const name of ['@grpc/grpc-js', '@grpc/proto-loader', 'grpc-health-check', '@grpc/reflection', 'protobufjs']) assert.ok(image.has(name), `${name} is in the images`);
  for (const name of ['zx', 'tsx', 'marked', 'yaml', 'esbuild', 'typescript']) assert.ok(!image.has(name), `${name} is not in the images`);
  assert.ok(rows.some((r) => r.name === 'typescript' && r.dev));
});
