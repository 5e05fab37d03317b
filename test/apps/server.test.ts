// The server's services in-process (startServer) over real loopback connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { loadGreeter, type HelloReply } from '../../apps/proto/load.ts';
import { startServer } from '../../apps/server/server.ts';

const Greeter = loadGreeter();
const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
const reflectionProto = fileURLToPath(new URL('../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto', import.meta.url));

// proto-loader clients are untyped
type Any = any;

function unary<T>(client: Any, method: string, req: object, deadlineMs = 5000): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](req, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res))),
  );
}

async function withServer(opts: Partial<Parameters<typeof startServer>[0]>, fn: (addr: string, s: Awaited<ReturnType<typeof startServer>>) => Promise<void>) {
  const s = await startServer({ version: 'v1', pod: 'pod-a', host: '127.0.0.1', port: 0, graceMs: 2000, ...opts });
  try {
    await fn(`127.0.0.1:${s.port}`, s);
  } finally {
    await s.shutdown(200);
  }
}

test('SayHello names version and pod; the handle reports the real port', async () => {
  await withServer({ version: 'v7', pod: 'server-v7-x' }, async (addr, s) => {
    assert.ok(s.port > 0);
    assert.equal(s.address, `127.0.0.1:${s.port}`);
    const c = new Greeter(addr, grpc.credentials.createInsecure());
    const r = await unary<HelloReply>(c, 'SayHello', { name: 'test' });
    assert.deepEqual(r, { message: 'Hello test from server-v7-x (v7)', version: 'v7', pod: 'server-v7-x' });
    c.close();
  });
});

test('health: SERVING for "" and demo.v1.Greeter, NOT_SERVING once the drain starts', async () => {
  const s = await startServer({ version: 'v1', pod: 'p', host: '127.0.0.1', port: 0 });
  const h: Any = new Health(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure());
  for (const service of ['', 'demo.v1.Greeter']) {
    assert.deepEqual(await unary(h, 'check', { service }), { status: 'SERVING' });
  }
  const statuses: string[] = [];
  const watch = h.watch({ service: 'demo.v1.Greeter' });
  const ended = new Promise<void>((resolve) => {
    watch.on('data', (m: { status: string }) => statuses.push(m.status));
    watch.on('error', () => resolve());
    watch.on('end', () => resolve());
  });
  while (statuses.length === 0) await new Promise((r) => setTimeout(r, 10));
  // A Watch never ends by itself: the drain must cut it at the grace, not hang.
  const report = await s.shutdown(300);
  await ended;
  assert.deepEqual(statuses, ['SERVING', 'NOT_SERVING']);
  assert.deepEqual(report, { inFlight: 0, cutOff: 0 });
  h.close();
});

test('reflection lists the greeter and health services', async () => {
  await withServer({}, async (addr) => {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto, { keepCase: false, defaults: true }));
    const Reflection = (pkg.grpc as Any).reflection.v1.ServerReflection;
    const c: Any = new Reflection(addr, grpc.credentials.createInsecure());
    const stream = c.serverReflectionInfo();
    const reply = await new Promise<Any>((resolve, reject) => {
      stream.on('data', resolve);
      stream.on('error', reject);
      stream.write({ listServices: '' });
    });
    stream.end();
    const names = reply.listServicesResponse.service.map((s: { name: string }) => s.name).sort();
    assert.deepEqual(names, ['demo.v1.Greeter', 'grpc.health.v1.Health']);
    c.close();
  });
});

test('StreamHellos sends count replies; a cancelled stream stops on the server', async () => {
  await withServer({ pod: 'pod-s' }, async (addr, s) => {
    const c: Any = new Greeter(addr, grpc.credentials.createInsecure());
    const got: HelloReply[] = [];
    await new Promise<void>((resolve, reject) => {
      const st = c.streamHellos({ name: 'n', count: 3, intervalMs: 5 });
      st.on('data', (r: HelloReply) => got.push(r));
      st.on('end', resolve);
      st.on('error', reject);
    });
    assert.equal(got.length, 3);
    assert.ok(got.every((r) => r.pod === 'pod-s'));

    const st = c.streamHellos({ name: 'n', count: 1000, intervalMs: 20 });
    let n = 0;
    await new Promise<void>((resolve) => {
      st.on('data', () => {
        n += 1;
        if (n === 2) st.cancel();
      });
      st.on('error', (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.CANCELLED);
        resolve();
      });
    });
    while (s.inFlight() > 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.inFlight(), 0);
    c.close();
  });
});

test('faults: errorRate 1 fails every call with the chosen code, after the added latency', async () => {
  await withServer({ errorRate: 1, errorCode: 'RESOURCE_EXHAUSTED', latencyMs: 40 }, async (addr) => {
    const c = new Greeter(addr, grpc.credentials.createInsecure());
    const t0 = performance.now();
    await assert.rejects(unary(c, 'SayHello', { name: 'x' }), (e: grpc.ServiceError) => e.code === grpc.status.RESOURCE_EXHAUSTED);
    assert.ok(performance.now() - t0 >= 39, 'latency added before the error');
    c.close();
  });
});

test('MAX_CONNECTION_AGE_MS: connections are replaced under traffic without failing calls', async () => {
  await withServer({ maxConnectionAgeMs: 150, latencyMs: 20 }, async (addr) => {
    const c = new Greeter(addr, grpc.credentials.createInsecure());
    const ch = c.getChannel();
    let readies = 0;
    let watching = true;
    const watch = (state: grpc.connectivityState) => {
      if (!watching) return;
      ch.watchConnectivityState(state, Date.now() + 5000, () => {
        const now = ch.getConnectivityState(false);
        if (now === grpc.connectivityState.READY) readies += 1;
        watch(now);
      });
    };
    watch(ch.getConnectivityState(true));
    // At least 700 ms (several connection ages) and at least 80 calls, however busy the machine.
    const calls: Promise<HelloReply>[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 700 || calls.length < 80) {
      calls.push(unary<HelloReply>(c, 'SayHello', { name: 'age' }));
      await new Promise((r) => setTimeout(r, 5));
    }
    const replies = await Promise.all(calls);
    watching = false;
    assert.equal(replies.length, calls.length);
    assert.ok(readies >= 2, `the connection was replaced (${readies} READY transitions)`);
    c.close();
  });
});

/** The identity keys of status metadata (a trailers-only answer also carries its headers there). */
const servedBy = (md: grpc.Metadata) => Object.fromEntries(['x-served-by-version', 'x-served-by-pod'].map((k) => [k, md.get(k)[0]]));

/** A unary call's outcome with the trailers it came with (status metadata), ok or not. */
function unaryTrailers(client: Any, req: object): Promise<{ code: number; trailers: Record<string, unknown> }> {
  return new Promise((resolve) => {
    // The status event carries the trailers whether the call failed or not.
    const call = client.SayHello(req, { deadline: Date.now() + 5000 }, () => {});
    call.on('status', (st: grpc.StatusObject) => resolve({ code: st.code, trailers: servedBy(st.metadata) }));
  });
}

test('every answer names version and pod in its trailers: ok, failed by a fault, rejected, and a stream', async () => {
  const who = { 'x-served-by-version': 'v9', 'x-served-by-pod': 'server-v9-t' };
  await withServer({ version: 'v9', pod: 'server-v9-t' }, async (addr) => {
    const c: Any = new Greeter(addr, grpc.credentials.createInsecure());
    assert.deepEqual(await unaryTrailers(c, { name: 'ok' }), { code: grpc.status.OK, trailers: who });
    const st = c.streamHellos({ name: 'n', count: 2, intervalMs: 1 });
    st.on('data', () => {});
    const status = await new Promise<grpc.StatusObject>((resolve) => st.on('status', resolve));
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(servedBy(status.metadata), who);
    const big = c.streamHellos({ name: 'n', count: 1_000_000, intervalMs: 1 });
    const refused = await new Promise<grpc.ServiceError>((resolve) => big.on('error', resolve));
    assert.equal(refused.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(servedBy(refused.metadata), who);
    c.close();
  });
  await withServer({ version: 'v9', pod: 'server-v9-t', errorRate: 1 }, async (addr) => {
    const c: Any = new Greeter(addr, grpc.credentials.createInsecure());
    assert.deepEqual(await unaryTrailers(c, { name: 'bad' }), { code: grpc.status.UNAVAILABLE, trailers: who });
    const st = c.streamHellos({ name: 'n', count: 2, intervalMs: 1 });
    const err = await new Promise<grpc.ServiceError>((resolve) => st.on('error', resolve));
    assert.equal(err.code, grpc.status.UNAVAILABLE);
    assert.deepEqual(servedBy(err.metadata), who);
    c.close();
  });
});
