// local-mesh's newer verbs and settings, without starting anything: usage errors are one line
// and exit 2, the env overrides parse or name the bad pair, and verbs that need a running set
// say so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { envOverrides } from '../../scripts/local-mesh/pods.ts';
import { localMesh } from './cli.ts';

const lm = (env: NodeJS.ProcessEnv, ...args: string[]) => localMesh(env, args, 30_000);

describe('local-mesh verbs and settings', () => {
  it('LOCAL_MESH_CLIENT_ENV / LOCAL_MESH_SERVER_ENV: KEY=VALUE pairs, or one line naming the bad one', () => {
    assert.deepEqual(envOverrides({ X: ' RATE=500  CONCURRENCY=64 ' }, 'X'), { RATE: '500', CONCURRENCY: '64' });
    assert.deepEqual(envOverrides({}, 'X'), {});
    assert.throws(() => envOverrides({ X: 'RATE=500 oops' }, 'X'), { message: 'X: "oops" is not KEY=VALUE (separate pairs with spaces)' });
  });

  it('usage errors exit 2; rollout and restart need something running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-mesh-verbs-'));
    const env = { ...process.env, LOCAL_MESH_DIR: dir };
    try {
      const help = await lm(env, '--help');
      assert.match(help.out, /rollout restart DEPLOYMENT/);
      assert.match(help.out, /restart NAME/);
      assert.match(help.out, /set env DEPLOYMENT NAME=VALUE \.\.\. NAME-/);
      for (const [args, re] of [
        [['set'], /^local-mesh: set takes: env DEPLOYMENT/],
        [['set', 'env', 'server-v2'], /^local-mesh: set env needs NAME=VALUE or NAME-/],
        [['set', 'env', 'server-v2', 'HOST=0.0.0.0'], /^local-mesh: set env: HOST is chosen by local-mesh/],
        [['set', 'env', 'server-v2', 'A B'], /^local-mesh: set env: "A B" is not NAME=VALUE or NAME-/],
      ] as const) {
        const r = await lm(env, ...args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
        assert.match(r.err, re);
      }
      assert.match(help.out, /LOCAL_MESH_CLIENT_ENV/);
      for (const args of [['rollout'], ['rollout', 'status', 'server-v1'], ['restart'], ['restart', 'a', 'b']]) {
        const r = await lm(env, ...args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
        assert.match(r.err.split('\n')[0]!, /^local-mesh: (rollout|restart) takes/);
      }
      for (const args of [['rollout', 'restart', 'server-v1'], ['restart', 'mesh'], ['set', 'env', 'server-v2', 'FAULT_ERROR_RATE=0.5']]) {
        const r = await lm(env, ...args);
        assert.equal(r.code, 1);
        assert.equal(r.err, 'local-mesh: nothing is running (start it with: node scripts/local-mesh.mjs up)\n');
      }
      const bad = await lm({ ...env, LOCAL_MESH_CLIENT_ENV: 'RATE' }, 'up');
      assert.equal(bad.code, 2);
      assert.match(bad.err, /^local-mesh: LOCAL_MESH_CLIENT_ENV: "RATE" is not KEY=VALUE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
