// Applying splits: hitless under load (no call fails, however often the split changes), calls
// in flight finish where they started while new calls follow the new weights at once, and bad
// input is refused with one clear line while the split in force stays.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startMesh, type Mesh } from '../../apps/mesh/mesh.ts';
import { countBy, greeter, load, meshConfig, replicas, sayHello, serviceTable, underApplies, until, trafficSplit, type GreeterClient, type Replica } from './helpers.ts';

const split = (v1: number | string, v2: number | string) => trafficSplit({ v1, v2 });

async function post(mesh: Mesh, path: string, body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${mesh.adminPort}${path}`, { method: 'POST', body });
  return { status: res.status, json: await res.json() };
}

describe('apply', () => {
  let all: Replica[];
  let slow: Replica[];
  let mesh: Mesh;
  let c: GreeterClient;

  before(async () => {
    all = [...(await replicas('v1', 2)), ...(await replicas('v2', 2))];
    slow = await replicas('v1', 1, { latencyMs: 1000, podPrefix: 'server-v1-slow-' });
    const services = {
      ...serviceTable(all),
      slow: slow.map((r) => r.endpoint),
      'slow-v1': slow.map((r) => r.endpoint),
      'slow-v2': all.filter((r) => r.version === 'v2').map((r) => r.endpoint),
    };
    mesh = await startMesh({ services, manifests: split(100, 0) });
    c = greeter(`127.0.0.1:${mesh.port}`, 'server:50051');
  });
  after(async () => {
    c?.close();
    await mesh?.close(500);
    await Promise.all([...(all ?? []), ...(slow ?? [])].map((r) => r.server.shutdown(100)));
  });

  it('answers POST /apply with what it applied', async () => {
    const r = await post(mesh, '/apply', split(95, 5));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      applied: [{ apex: 'server', name: 'server-split', kind: 'TrafficSplit', backends: [{ service: 'server-v1', weight: 95 }, { service: 'server-v2', weight: 5 }] }],
      // The document each split came from, so local-mesh keeps it without parsing it again.
      manifests: [split(95, 5).replace(/^---[^\n]*\n/, '')],
    });
  });

  it('refuses bad input with a one-line error and keeps the split in force', async () => {
    assert.equal((await post(mesh, '/apply', split(100, 0))).status, 200);
    const bad: Array<[string, RegExp]> = [
      [split(100, 0).replace('server-v2', 'server-v9'), /backend server-v9 is not a known service/],
      [split(99.5, 0.5), /whole number >= 0, got 99\.5/],
      [split(-5, 105), /whole number >= 0, got -5/],
      [split(0, 0), /all weights are zero/],
      [split(50, 50).replace('v1alpha2', 'v1alpha4'), /apiVersion .* is not served/],
      [split(50, 50).replace('kind: TrafficSplit', 'kind: ServiceProfile'), /no TrafficSplit or GRPCRoute/],
      ['kind: TrafficSplit\n  spec: : [\n', /broken YAML/],
      ['apiVersion: v1\nkind: Service\nmetadata: {name: server}\n', /no TrafficSplit or GRPCRoute/],
      ['kind: TrafficSplit\nspec: *nope\n', /document 1: Unresolved alias/],
    ];
    for (const [text, re] of bad) {
      const r = await post(mesh, '/apply', text);
      assert.equal(r.status, 400, text);
      assert.match(r.json.error, re);
      assert.doesNotMatch(r.json.error, /\n/);
    }
    const cfg = await meshConfig(mesh.adminPort);
    assert.deepEqual(cfg.splits[0]?.backends, [{ service: 'server-v1', weight: 100 }, { service: 'server-v2', weight: 0 }]);
    const res = await load(200, 8, () => sayHello(c));
    assert.deepEqual(countBy(res, (r) => (r.ok ? r.value.version : 'failed')), { v1: 200 });
  });

  it('calls in flight finish where they started; new calls follow the new split at once', async () => {
    mesh.apply(split(100, 0).replace('service: server\n', 'service: slow\n').replace(/server-v/g, 'slow-v'));
    const g = greeter(`127.0.0.1:${mesh.port}`, 'slow:50051');
    try {
      const inflight = Array.from({ length: 8 }, () => sayHello(g));
      await until('8 calls in flight on the slow v1 replica', async () => (await meshConfig(mesh.adminPort)).services['slow-v1']![0]!.inflight === 8);
      mesh.apply(split(0, 100).replace('service: server\n', 'service: slow\n').replace(/server-v/g, 'slow-v'));
      const fresh = await load(50, 4, () => sayHello(g));
      assert.deepEqual(countBy(fresh, (r) => (r.ok ? r.value.version : 'failed')), { v2: 50 }, 'new calls after the apply');
      const old = await Promise.all(inflight);
      assert.deepEqual(countBy(old, (r) => r.pod), { 'server-v1-slow-0': 8 }, 'calls in flight at the apply');
    } finally {
      g.close();
    }
  });

  it('is hitless: 0 failed calls over 10,000 calls with applies every few ms', async (t) => {
    const weights: Array<[number, number]> = [[100, 0], [95, 5], [50, 50], [0, 100], [5, 95], [1, 1]];
    const { result: res, applies } = await underApplies(mesh.adminPort, weights.map(([a, b]) => split(a, b)), () => load(10_000, 16, () => sayHello(c)));
    const failed = res.filter((r) => !r.ok);
    t.diagnostic(`${res.length} calls, ${applies} applies, ${failed.length} failed`);
    assert.equal(failed.length, 0, failed.slice(0, 3).map((r) => !r.ok && r.error.message).join('; '));
    assert.ok(applies >= 20, `only ${applies} applies`);
    const versions = countBy(res, (r) => (r.ok ? r.value.version : ''));
    assert.ok((versions.v1 ?? 0) > 0 && (versions.v2 ?? 0) > 0, JSON.stringify(versions));
  });
});
