// The entry points run compiled JavaScript (dist/, scripts/build.mjs), and what runs is the
// source as it is now: in a copy of the project, a first start builds dist/, an edited source
// is rebuilt before the next start, and local-mesh's compiled code starts compiled programs.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, testEnv } from './helpers.ts';

const COPIED = ['apps', 'lib', 'runner', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'runner.mjs'];

describe('compiled entry points', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'build-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of COPIED) cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: dir, env: testEnv(), encoding: 'utf8', timeout: 120_000 });

  it('a first start builds dist/; an edited source is what the next start runs', () => {
    const first = node(['runner.mjs', '--help']);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stderr, '', 'compiled, not run through tsx');
    assert.match(first.stdout, /^Usage: node runner\.mjs/);
    assert.ok(existsSync(path.join(dir, 'dist', 'runner', 'main.js')));

    const cli = path.join(dir, 'runner', 'cli.ts');
    writeFileSync(cli, readFileSync(cli, 'utf8').replace('Usage: node runner.mjs', 'Usage (edited): node runner.mjs'));
    const second = node(['runner.mjs', '--help']);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stderr, '');
    assert.match(second.stdout, /^Usage \(edited\): node runner\.mjs/);
    assert.match(readFileSync(path.join(dir, 'dist', 'runner', 'cli.js'), 'utf8'), /Usage \(edited\)/);
  });

  it('compiled local-mesh starts the compiled apps, with the proto beside them, from the repository root', () => {
    const probe = [
      "const pods = await import('./dist/scripts/local-mesh/pods.js');",
      "const state = await import('./dist/scripts/local-mesh/state.js');",
      'console.log(JSON.stringify({ root: state.ROOT, programs: pods.PROGRAMS, args: pods.programArgs(pods.PROGRAMS.server) }));',
    ].join('\n');
    const r = node(['--input-type=module', '-e', probe]);
    assert.equal(r.status, 0, r.stderr);
    const { root, programs, args } = JSON.parse(r.stdout) as { root: string; programs: Record<string, string>; args: string[] };
    assert.equal(root, dir);
    for (const app of ['server', 'client', 'mesh']) {
      assert.equal(programs[app], path.join(dir, 'dist', 'apps', app, 'main.js'));
      assert.ok(existsSync(programs[app]!), `${programs[app]} was built`);
    }
    assert.equal(args.at(-1), programs.server, 'the compiled server is what starts');
    assert.ok(!args.includes('tsx') && !args.includes('--import'), `no tsx: ${args.join(' ')}`);
    assert.ok(existsSync(path.join(dir, 'dist', 'apps', 'proto', 'demo', 'v1', 'greeter.proto')));
  });
});
