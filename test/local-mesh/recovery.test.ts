// local-mesh never loses a process it started: the state is replaced whole, never written in
// place; `down` finds every process of the demo by its marker when the state is damaged or
// gone; `up` over a stale state (a state that lies, a killed proxy) stops what is left and
// starts afresh, and over a running demo does nothing but prune the logs of gone processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { signalGroup } from '../../lib/process-group.ts';
import { findOwned, isAlive as procAlive, NAME_VAR, OWNER_VAR, stopGroup } from '../../scripts/local-mesh/processes.ts';
import { loadState, paths, saveState, type State } from '../../scripts/local-mesh/state.ts';
import { isAlive } from '../runner/helpers.ts';
import { localMesh } from './cli.ts';

const lm = (env: NodeJS.ProcessEnv, ...args: string[]) => localMesh(env, args, 90_000);

describe('local-mesh keeps track of its processes', () => {
  it('the state is replaced by rename: a reader holding the old file still reads all of it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-mesh-state-'));
    try {
      const p = paths({ LOCAL_MESH_DIR: dir });
      const big = (n: number): State => ({ startedAt: 'x', processes: Array.from({ length: n }, (_, i) => ({ name: `server-${i}`, pid: 1000 + i, mark: 'm', log: 'l' })) });
      saveState(p, big(2000));
      const before = readFileSync(p.state, 'utf8');
      const fd = openSync(p.state, 'r');
      try {
        saveState(p, big(1));
        const buf = Buffer.alloc(before.length + 10);
        const n = readSync(fd, buf, 0, buf.length, 0);
        assert.equal(buf.subarray(0, n).toString('utf8'), before, 'the old file, whole');
      } finally {
        closeSync(fd);
      }
      assert.equal(loadState(p)!.processes.length, 1);
      assert.deepEqual(readdirSync(dir), ['state.json'], 'no temp file left');
      writeFileSync(p.state, before.slice(0, before.length / 2));
      assert.throws(() => loadState(p), /state\.json: is damaged \(.*\); local-mesh down finds and stops the demo's processes without it$/);
      writeFileSync(p.state, '{"processes": [{"name": "mesh"}]}');
      assert.throws(() => loadState(p), /is not a local-mesh state/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("findOwned finds processes by their marker, one demo's and no other's", async () => {
    const owner = mkdtempSync(join(tmpdir(), 'local-mesh-owner-'));
    const start = (o: string, name: string) => spawn('sleep', ['30'], { env: { ...process.env, [OWNER_VAR]: o, [NAME_VAR]: name }, detached: true, stdio: 'ignore' });
    const mine = start(owner, 'server-v1-aaaaa');
    const other = start(`${owner}2`, 'server-v1-bbbbb');
    try {
      const found = findOwned(owner);
      assert.deepEqual(found.map((f) => [f.pid, f.name]), [[mine.pid, 'server-v1-aaaaa']]);
      assert.ok(procAlive(found[0]!), 'its command line is the pid-reuse guard');
      assert.equal(await stopGroup(found[0]!), 'stopped');
      assert.deepEqual(findOwned(owner), []);
    } finally {
      for (const c of [mine, other]) c.kill('SIGKILL');
      rmSync(owner, { recursive: true, force: true });
    }
  });

  it('up is a no-op when all runs; up over a missing state or a killed proxy, and down over a damaged state, find every process', { timeout: 300_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'local-mesh-recovery-'));
    const env = { ...process.env, LOCAL_MESH_DIR: dir };
    const p = paths(env);
    const pids = () => loadState(p)!.processes.map((x) => x.pid).sort();
    const history = () => readFileSync(join(dir, 'history.jsonl'), 'utf8').split('\n').filter(Boolean).length;
    try {
      const first = await lm(env, 'up');
      assert.equal(first.code, 0, first.err);
      const a = pids();
      assert.equal(a.length, 8);

      // Again: nothing started; the logs of processes that are gone are removed, the others kept.
      writeFileSync(join(dir, 'server-v1-gone1.log'), 'old\n');
      writeFileSync(join(dir, 'server-v1-gone1.previous.log'), 'older\n');
      const n = history();
      const t0 = performance.now();
      const again = await lm(env, 'up');
      t.diagnostic(`up over a running demo: ${Math.round(performance.now() - t0)} ms, Node and tsx start-up included`);
      assert.equal(again.code, 0, again.err);
      assert.match(again.out, /^already up: 8 processes .*; removed 2 logs of processes that are gone\n$/);
      assert.deepEqual(pids(), a);
      assert.equal(history(), n, 'nothing started or stopped');
      assert.ok(!existsSync(join(dir, 'server-v1-gone1.log')) && !existsSync(join(dir, 'server-v1-gone1.previous.log')));
      assert.ok(existsSync(join(dir, 'client.log')) && existsSync(join(dir, 'mesh.log')));

      // The state gone: up finds the 8 by their marker, stops them, starts 8 new ones.
      rmSync(p.state);
      const fresh = await lm(env, 'up');
      assert.equal(fresh.code, 0, fresh.err);
      assert.match(fresh.out, /^stopping 8 processes of this demo the state does not list: (client|mesh|server-v[12]-\w+) \(pid \d+\)/m);
      const b = pids();
      assert.deepEqual(a.filter(isAlive), [], 'the first set is gone');
      assert.ok(b.every(isAlive));

      // The proxy killed: up says so and starts afresh.
      const mesh = loadState(p)!.processes.find((x) => x.name === 'mesh')!;
      signalGroup(mesh.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      const recovered = await lm(env, 'up');
      assert.equal(recovered.code, 0, recovered.err);
      assert.match(recovered.out, new RegExp(`^some processes had stopped \\(mesh \\(pid ${mesh.pid}\\)\\); starting afresh$`, 'm'));
      const c = pids();
      assert.deepEqual(b.filter(isAlive), [], 'the second set is gone');
      assert.ok(c.every(isAlive));
      assert.equal((await lm(env, 'status')).code, 0);

      // The state damaged (half written by hand): status says so in one line; down stops all 8.
      writeFileSync(p.state, readFileSync(p.state, 'utf8').slice(0, 100));
      const status = await lm(env, 'status');
      assert.equal(status.code, 1);
      assert.match(status.err, /^local-mesh: .*state\.json: is damaged \(.*\); local-mesh down finds and stops the demo's processes without it\n$/);
      const down = await lm(env, 'down');
      assert.equal(down.code, 0, down.err);
      const lines = down.out.trimEnd().split('\n');
      assert.match(lines[0]!, /^state\.json is damaged \(.*\): looking for the demo's processes by their marker instead$/);
      assert.match(lines[1]!, /^found 8 processes of this demo by their marker: /);
      for (const name of ['client', 'mesh', 'server-v1-', 'server-v2-']) assert.ok(lines[1]!.includes(name), `${name} named`);
      assert.equal(lines[2], 'stopped 8 processes');
      assert.deepEqual(c.filter(isAlive), [], 'every process is gone');
      assert.ok(!existsSync(p.state));
      assert.match((await lm(env, 'down')).out, /^nothing to stop\n$/);
    } finally {
      for (const f of findOwned(dir)) await stopGroup(f, 2000);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
