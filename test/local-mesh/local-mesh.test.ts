// local-mesh as a reader uses it: up, apply, status, logs, endpoints, delete, down, against
// real processes, with its state in a temp folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSummaryLine } from '../../lib/summary.ts';
import { paths, readHistory } from '../../scripts/local-mesh/state.ts';
import { isAlive } from '../runner/helpers.ts';
import { localMesh } from './cli.ts';

test('up, apply, status, logs, endpoints, delete and down', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-mesh-'));
  const env = { ...process.env, LOCAL_MESH_DIR: dir };
  const lm = (...args: string[]) => localMesh(env, args);
  let pids: number[] = [];
  try {
    assert.match((await lm('down')).out, /nothing to stop/);
    const up = await lm('up');
    assert.equal(up.code, 0, up.err);
    const status = JSON.parse((await lm('status', '--json')).out);
    pids = status.processes.map((p: { pid: number }) => p.pid);
    assert.equal(status.processes.length, 8, 'six server replicas, the mesh, the client');
    assert.ok(status.processes.every((p: { alive: boolean }) => p.alive));
    assert.deepEqual(status.splits, []);
    assert.match((await lm('up')).out, /already up/);

    const eps = (await lm('endpoints', 'server-v2')).out.trim();
    assert.match(eps, /^ipv4:127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    // The apex's six replicas, in a random order each time: a direct client's pick_first then
    // lands on a random one, as through kube-proxy.
    const orders: string[][] = [];
    for (let i = 0; i < 6; i++) orders.push((await lm('endpoints', 'server')).out.trim().replace(/^ipv4:/, '').split(','));
    for (const o of orders) assert.deepEqual([...o].sort(), [...orders[0]!].sort());
    assert.equal(orders[0]!.length, 6);
    assert.ok(new Set(orders.map((o) => o[0])).size > 1, `always first: ${orders[0]![0]}`);

    const split = join(dir, 'split.yaml');
    writeFileSync(split, 'apiVersion: split.smi-spec.io/v1alpha2\nkind: TrafficSplit\nmetadata:\n  name: server-split\nspec:\n  service: server\n  backends:\n    - service: server-v2\n      weight: 1\n');
    const applied = await lm('apply', '-f', split);
    assert.equal(applied.code, 0, applied.err);
    assert.match(applied.out, /TrafficSplit\/server-split configured: server -> server-v2 1/);
    const appliedAt = Date.now();

    // Wait for a summary window that began after the apply: all v2.
    const deadline = Date.now() + 20_000;
    let seen;
    while (Date.now() < deadline && !seen) {
      const lines = (await lm('logs', '--json', 'client')).out.split('\n');
      seen = lines.map(parseSummaryLine).find((s) => s && Date.parse(s.ts) - s.intervalMs > appliedAt);
      if (!seen) await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(seen, 'a summary after the apply');
    assert.deepEqual(Object.keys(seen.byVersion), ['v2']);
    assert.match((await lm('logs', 'client')).out, /^summary .*\| v2=\d+ \(100\.0%\)/m);
    assert.match((await lm('status')).out, /^requests to server-v2: OK=\d+$/m, 'status names the gRPC status');

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(split, 'utf8').replace('server-v2', 'server-v9'));
    const refused = await lm('apply', '-f', bad);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /^local-mesh: .*bad\.yaml: .*server-v9 is not a known service\n$/);
    assert.match((await lm('status')).out, /splits: server -> server-v2 1/);

    assert.match((await lm('delete', '-f', split)).out, /deleted/);
    assert.equal((await lm('apply')).code, 2);
  } finally {
    const down = await lm('down');
    assert.match(down.out, /stopped 8 processes/);
    assert.deepEqual(pids.filter(isAlive), [], 'every process up started is gone');
    assert.equal(existsSync(join(dir, 'state.json')), false);
    const history = readHistory(paths({ LOCAL_MESH_DIR: dir }));
    assert.deepEqual(history.filter((h) => h.event === 'started').map((h) => h.pid).sort(), [...pids].sort(), 'history names every pid');
    assert.deepEqual(history.filter((h) => h.event !== 'started').map((h) => h.event), ['applied', 'deleted']);
    rmSync(dir, { recursive: true, force: true });
  }
});
