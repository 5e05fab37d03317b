// Replicas that die: a SIGKILLed server costs at most the calls in flight on it, leaves the
// rotation, and is probed back in when it returns on the same port. A Service with no live
// endpoint fails fast with UNAVAILABLE. The endpoint table can be replaced while calls run.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startMesh, type Mesh } from '../../apps/mesh/mesh.ts';
import { childServer, countBy, greeter, meshConfig, metrics, replicas, sayHello, sum, until, type ChildServer, type GreeterClient, type Replica } from './helpers.ts';

const CONCURRENCY = 8;

interface Outcome {
  pod?: string;
  code?: grpc.status;
}

/** Calls with CONCURRENCY in flight until stopped; every outcome recorded in order. */
function background(c: GreeterClient) {
  const outcomes: Outcome[] = [];
  let stop = false;
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (!stop) {
      try {
        outcomes.push({ pod: (await sayHello(c, { deadlineMs: 5000 })).pod });
      } catch (e) {
        outcomes.push({ code: (e as grpc.ServiceError).code });
      }
    }
  });
  return {
    outcomes,
    async stop() {
      stop = true;
      await Promise.all(workers);
    },
  };
}

const stateOf = async (mesh: Mesh, service: string, pod: string) => (await meshConfig(mesh.adminPort)).services[service]?.find((e) => e.pod === pod)?.state;

async function refusedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('connections that age out', () => {
  it('servers sending GOAWAY every ~100 ms (max connection age) cost no call: refused streams are placed again', async () => {
    const aging = await replicas('v1', 2, { maxConnectionAgeMs: 100 });
    const mesh = await startMesh({ services: { server: aging.map((r) => r.endpoint) } });
    const c = greeter(`127.0.0.1:${mesh.port}`, 'server:50051');
    try {
      // Until at least 500 calls went through and some attempt was refused and placed again.
      const outcomes: Outcome[] = [];
      // The proxy prints mesh_retries_total only once some attempt was placed again.
      const retried = async () => sum(await metrics(mesh.adminPort), 'mesh_retries_total') > 0;
      let enough = false;
      const watcher = until('500 calls and a refused stream placed again', async () => outcomes.length >= 500 && (await retried()), 30_000).finally(() => {
        enough = true;
      });
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (!enough) {
            try {
              outcomes.push({ pod: (await sayHello(c)).pod });
            } catch (e) {
              outcomes.push({ code: (e as grpc.ServiceError).code });
            }
          }
        }),
      );
      await watcher;
      assert.deepEqual(countBy(outcomes.filter((o) => o.code !== undefined), (o) => String(o.code)), {});
    } finally {
      c.close();
      await mesh.close(500);
      await Promise.all(aging.map((r) => r.server.shutdown(100)));
    }
  });
});

describe('replicas that die', () => {
  const children: ChildServer[] = [];
  let spare: Replica[] = [];
  let mesh: Mesh;
  let c: GreeterClient;

  before(async () => {
    children.push(...(await Promise.all([0, 1, 2].map((i) => childServer('v1', `server-v1-${i}`)))));
    spare = await replicas('v1', 1, { podPrefix: 'server-v1-new-' });
    const eps = children.map((ch, i) => ({ address: `127.0.0.1:${ch.port}`, pod: `server-v1-${i}` }));
    mesh = await startMesh({ services: { server: eps, 'server-v1': eps, gone: [{ address: `127.0.0.1:${await refusedPort()}`, pod: 'gone-0' }] } });
    c = greeter(`127.0.0.1:${mesh.port}`, 'server-v1:50051');
  });
  after(async () => {
    c?.close();
    await mesh?.close(500);
    await Promise.all(children.map((ch) => ch.kill('SIGKILL')));
    await Promise.all(spare.map((r) => r.server.shutdown(100)));
  });

  it('SIGKILL: failures bounded by the calls in flight, rotation recovers after a restart on the same port', async (t) => {
    const load = background(c);
    try {
      await until('traffic on every replica', () => Object.keys(countBy(load.outcomes, (o) => o.pod ?? '')).length >= 3);
      const victim = children[0]!;
      const inflightBefore = (await meshConfig(mesh.adminPort)).services['server-v1']!.find((e) => e.pod === 'server-v1-0')!.inflight;
      const killedAt = load.outcomes.length;
      await victim.kill('SIGKILL');
      await until('the killed replica to leave the rotation', async () => (await stateOf(mesh, 'server-v1', 'server-v1-0')) === 'down');
      const downAt = load.outcomes.length;
      await until('300 more calls', () => load.outcomes.length >= downAt + 300);

      const failures = load.outcomes.filter((o) => o.code !== undefined);
      t.diagnostic(`kill: ${failures.length} failed call(s); ${inflightBefore} were in flight on the replica just before`);
      // Only calls already on the dead replica may fail; at most CONCURRENCY are in flight at all.
      assert.ok(failures.length <= CONCURRENCY, `${failures.length} failed calls (in flight on it just before: ${inflightBefore}), codes ${JSON.stringify(countBy(failures, (o) => String(o.code)))}`);
      assert.ok(failures.every((o) => o.code === grpc.status.UNAVAILABLE), `codes ${JSON.stringify(countBy(failures, (o) => String(o.code)))}`);
      // The last calls on the dead replica may land just after /config said "down".
      const after = load.outcomes.slice(downAt + CONCURRENCY);
      assert.ok(after.every((o) => o.pod !== undefined && o.pod !== 'server-v1-0'), 'after leaving the rotation, nothing goes to or fails on the dead replica');
      assert.ok(killedAt > 0);

      children[0] = await childServer('v1', 'server-v1-0', victim.port);
      await until('the restarted replica to be probed back in', async () => (await stateOf(mesh, 'server-v1', 'server-v1-0')) === 'ready');
      const backAt = load.outcomes.length;
      await until('calls to reach the restarted replica', () => load.outcomes.slice(backAt).some((o) => o.pod === 'server-v1-0'));
    } finally {
      await load.stop();
    }
    const failures = load.outcomes.filter((o) => o.code !== undefined).length;
    assert.ok(failures <= CONCURRENCY, `${failures} failed calls in all`);
  });

  it('a Service whose endpoints all refuse fails fast with UNAVAILABLE', async () => {
    const g = greeter(`127.0.0.1:${mesh.port}`, 'gone:50051');
    try {
      assert.equal(await stateOf(mesh, 'gone', 'gone-0'), 'down');
      // A 2 s deadline: waiting for a dead endpoint would show as DEADLINE_EXCEEDED.
      await assert.rejects(sayHello(g, { deadlineMs: 2000 }), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE && /no live endpoint for service gone/.test(e.details));
    } finally {
      g.close();
    }
  });

  it('SIGTERM (graceful drain, GOAWAY): no call fails, the replica leaves the rotation', async () => {
    const load = background(c);
    try {
      await until('traffic on every replica', () => Object.keys(countBy(load.outcomes, (o) => o.pod ?? '')).length >= 3);
      await children[0]!.kill('SIGTERM');
      await until('the stopped replica to leave the rotation', async () => (await stateOf(mesh, 'server-v1', 'server-v1-0')) === 'down');
      const at = load.outcomes.length;
      await until('200 more calls', () => load.outcomes.length >= at + 200);
    } finally {
      await load.stop();
    }
    assert.deepEqual(countBy(load.outcomes.filter((o) => o.code !== undefined), (o) => String(o.code)), {});
  });

  it('PUT /endpoints replaces a replica while calls run, without failing any', async () => {
    const load = background(c);
    try {
      await until('some calls', () => load.outcomes.length > 100);
      const eps = [
        { address: `127.0.0.1:${children[1]!.port}`, pod: 'server-v1-1' },
        { address: `127.0.0.1:${children[2]!.port}`, pod: 'server-v1-2' },
        spare[0]!.endpoint,
      ];
      const res = await fetch(`http://127.0.0.1:${mesh.adminPort}/endpoints`, {
        method: 'PUT',
        body: JSON.stringify({ server: eps, 'server-v1': eps, gone: [] }),
      });
      assert.equal(res.status, 200, await res.text());
      const swappedAt = load.outcomes.length;
      await until('calls on the new replica', () => load.outcomes.slice(swappedAt).some((o) => o.pod === spare[0]!.pod));
      await until('100 more calls', () => load.outcomes.length > swappedAt + 100 + CONCURRENCY);
      // Calls placed before the swap may still finish on server-v1-0; none after.
      const late = load.outcomes.slice(swappedAt + CONCURRENCY).filter((o) => o.pod === 'server-v1-0').length;
      assert.equal(late, 0, `${late} calls went to the removed replica after the swap (swap at ${swappedAt}, now ${load.outcomes.length})`);
      assert.deepEqual((await meshConfig(mesh.adminPort)).services['server-v1']!.map((e) => e.pod), ['server-v1-1', 'server-v1-2', spare[0]!.pod]);
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.outcomes.filter((o) => o.code !== undefined), []);
  });
});
