// `npm ci` prints no "install scripts not yet covered by allowScripts" warning: every installed
// package with an install script is approved or denied on purpose in package.json (README,
// "Run it", says why). Asked of the real npm, which reads node_modules and needs no network.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');
const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' });
const [major = 0, minor = 0] = (npm.stdout ?? '').trim().split('.').map(Number);
const skip = npm.status !== 0 ? 'npm is not on PATH' : major < 11 || (major === 11 && minor < 16) ? `npm ${npm.stdout.trim()} has no allowScripts (npm 11.16 and later)` : false;

test('every install script in node_modules is approved or denied in package.json', { skip }, () => {
  const cache = mkdtempSync(path.join(tmpdir(), 'npm-cache-'));
  try {
    const r = spawnSync('npm', ['install-scripts', 'ls', '--json'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_cache: cache, npm_config_update_notifier: 'false' } });
    assert.equal(r.status, 0, r.stderr);
    const pending = (JSON.parse(r.stdout) as { allowScripts: Array<{ name: string }> }).allowScripts;
    assert.deepEqual(pending.map((x) => x.name), [], 'packages whose install scripts nobody decided on');
    const declared = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> }).allowScripts;
    assert.deepEqual(declared, { esbuild: false, protobufjs: false }, 'the decisions README explains');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
