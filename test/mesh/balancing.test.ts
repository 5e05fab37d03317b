// Per-request balancing: one client, one HTTP/2 connection to the proxy, yet the calls spread
// over every replica of the backend. The same client dialling the replicas directly with gRPC's
// default pick_first policy pins every call to one of them: the problem the mesh solves.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startMesh, type Mesh } from '../../apps/mesh/mesh.ts';
import { countBy, greeter, load, metrics, replicas, sayHello, serviceTable, sum, type Replica } from './helpers.ts';

describe('per-request balancing', () => {
  let v1: Replica[];
  let slow: Replica[];
  let mesh: Mesh;

  before(async () => {
    v1 = await replicas('v1', 3);
    // Well above linkerd's 30 ms starting estimate, so the peak stands out at once.
    slow = await replicas('slow', 1, { latencyMs: 100 });
    mesh = await startMesh({
      services: {
        ...serviceTable(v1),
        mixed: [...v1, ...slow].map((r) => r.endpoint),
      },
    });
  });
  after(async () => {
    await mesh?.close(500);
    await Promise.all([...(v1 ?? []), ...(slow ?? [])].map((r) => r.server.shutdown(100)));
  });

  const metric = async (name: string) => sum(await metrics(mesh.adminPort), name);

  it('spreads one connection\'s calls over every replica', async () => {
    const conns = await metric('mesh_downstream_connections_total');
    const c = greeter(`127.0.0.1:${mesh.port}`, 'server-v1:50051');
    try {
      for (const concurrency of [4, 16]) {
        const res = await load(600, concurrency, () => sayHello(c));
        assert.ok(res.every((r) => r.ok));
        const pods = countBy(res, (r) => (r.ok ? r.value.pod : ''));
        assert.deepEqual(Object.keys(pods).sort(), v1.map((r) => r.pod).sort(), `concurrency ${concurrency}: ${JSON.stringify(pods)}`);
        for (const [pod, n] of Object.entries(pods)) assert.ok(n >= 30, `concurrency ${concurrency}: ${pod} got only ${n} of 600 (${JSON.stringify(pods)})`);
      }
    } finally {
      c.close();
    }
    assert.equal((await metric('mesh_downstream_connections_total')) - conns, 1, 'all calls came over one connection');
  });

  it('contrast: the same client dialling the replicas directly (pick_first) pins to one', async () => {
    const target = `ipv4:${v1.map((r) => r.endpoint.address).join(',')}`;
    const c = greeter(target);
    try {
      const res = await load(300, 8, () => sayHello(c));
      assert.ok(res.every((r) => r.ok));
      assert.equal(Object.keys(countBy(res, (r) => (r.ok ? r.value.pod : ''))).length, 1);
    } finally {
      c.close();
    }
  });

  it('sends fewer calls to a slow replica (peak-EWMA)', async () => {
    const c = greeter(`127.0.0.1:${mesh.port}`, 'mixed:50051');
    try {
      const res = await load(800, 8, () => sayHello(c));
      assert.ok(res.every((r) => r.ok));
      const pods = countBy(res, (r) => (r.ok ? r.value.pod : ''));
      const fastMean = v1.reduce((n, r) => n + (pods[r.pod] ?? 0), 0) / v1.length;
      assert.ok((pods['server-slow-0'] ?? 0) < fastMean / 2, `slow replica got ${pods['server-slow-0']}, fast ones ${fastMean} on average`);
    } finally {
      c.close();
    }
  });
});
