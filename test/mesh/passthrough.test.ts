// The proxy knows nothing about the methods it carries: metadata, trailers (text and binary),
// errors, deadlines, cancellation, big messages and every streaming shape pass through.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startMesh, type Mesh } from '../../apps/mesh/mesh.ts';
import { greeter, replicas, sayHello, until, type GreeterClient, type Replica } from './helpers.ts';
import { ProbeClient, startProbe, type Probe } from './probe.ts';

type Done = { err: grpc.ServiceError | null; value?: Buffer; header?: grpc.Metadata; trailer?: grpc.Metadata };

function unary(c: Probe, method: 'Unary' | 'Hang', body: string, md = new grpc.Metadata(), opts: grpc.CallOptions = {}): { call: grpc.ClientUnaryCall; done: Promise<Done> } {
  let call!: grpc.ClientUnaryCall;
  const done = new Promise<Done>((resolve) => {
    const res: Done = { err: null };
    call = c[method](Buffer.from(body), md, opts, (err: grpc.ServiceError | null, value?: Buffer) => {
      res.err = err;
      res.value = value;
      // 'status' follows the callback; give it a tick.
      setImmediate(() => resolve(res));
    });
    call.on('metadata', (m: grpc.Metadata) => (res.header = m));
    call.on('status', (s: grpc.StatusObject) => (res.trailer = s.metadata));
  });
  return { call, done };
}

describe('pass-through', () => {
  let probe: Awaited<ReturnType<typeof startProbe>>;
  let greeters: Replica[];
  let mesh: Mesh;
  let c: Probe;
  let g: GreeterClient;

  before(async () => {
    probe = await startProbe();
    greeters = await replicas('v1', 1);
    mesh = await startMesh({
      services: { probe: [{ address: probe.address, pod: 'probe-0' }], server: greeters.map((r) => r.endpoint) },
    });
    c = new ProbeClient(`127.0.0.1:${mesh.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'probe:50051' }) as Probe;
    g = greeter(`127.0.0.1:${mesh.port}`, 'server:50051');
  });

  after(async () => {
    c?.close();
    g?.close();
    await mesh?.close(500);
    await probe?.stop();
    await Promise.all((greeters ?? []).map((r) => r.server.shutdown(100)));
  });

  it('carries request metadata, response headers, text and binary trailers', async () => {
    const md = new grpc.Metadata();
    md.set('x-test', 'hello-meta');
    md.set('x-key-bin', Buffer.from([9, 8, 7]));
    const { done } = unary(c, 'Unary', 'ping', md);
    const r = await done;
    assert.equal(r.err, null);
    assert.equal(r.value?.toString(), 'ping');
    assert.equal(r.header?.get('x-echo')[0], 'hello-meta');
    assert.equal(r.trailer?.get('x-trailer')[0], 'yes');
    assert.deepEqual(r.trailer?.get('x-blob-bin')[0], Buffer.from([0, 1, 2, 255]));
    assert.deepEqual(probe.log.metadata.at(-1)?.get('x-key-bin')[0], Buffer.from([9, 8, 7]));
  });

  it('carries an error status with its (encoded) message and trailers', async () => {
    const r = await unary(c, 'Unary', 'fail').done;
    assert.equal(r.err?.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(r.err?.details, 'nope: ünïcode %');
    assert.equal(r.trailer?.get('x-trailer')[0], 'yes');
  });

  it('passes the deadline (grpc-timeout) to the server', async () => {
    const r = await unary(c, 'Unary', 'x', undefined, { deadline: Date.now() + 3000 }).done;
    assert.equal(r.err, null);
    const seen = probe.log.deadlines.at(-1)!;
    assert.ok(seen > 0 && seen <= 3000, `server saw ${seen} ms left`);
  });

  it('returns DEADLINE_EXCEEDED and cancels the call on the server', async () => {
    const r = await unary(c, 'Hang', 'deadline', undefined, { deadline: Date.now() + 300 }).done;
    assert.equal(r.err?.code, grpc.status.DEADLINE_EXCEEDED);
    await until('the server to see the cancellation', () => probe.log.cancelled.includes('deadline'));
  });

  it('hands a client cancellation to the server', async () => {
    const { call, done } = unary(c, 'Hang', 'cancel-me');
    await until('the call to reach the server', () => probe.log.started.includes('cancel-me'));
    assert.ok(!probe.log.cancelled.includes('cancel-me'));
    call.cancel();
    assert.equal((await done).err?.code, grpc.status.CANCELLED);
    await until('the server to see the cancellation', () => probe.log.cancelled.includes('cancel-me'));
  });

  it('carries a client stream, a server stream and a bidi stream', async () => {
    const collected = await new Promise<Buffer>((resolve, reject) => {
      const s = c.Collect((err: grpc.ServiceError | null, v?: Buffer) => (err ? reject(err) : resolve(v!)));
      for (let i = 0; i < 50; i++) s.write(Buffer.from(`${i},`));
      s.end();
    });
    assert.equal(collected.toString(), Array.from({ length: 50 }, (_, i) => `${i},`).join(''));

    const got: string[] = [];
    for await (const m of c.Count(Buffer.from('200')) as AsyncIterable<Buffer>) got.push(m.toString());
    assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => String(i)));

    const echo = c.Echo();
    const back: string[] = [];
    echo.on('data', (b: Buffer) => back.push(b.toString()));
    for (let i = 0; i < 20; i++) {
      echo.write(Buffer.from(`m${i}`));
      await until(`echo ${i}`, () => back.length === i + 1);
    }
    echo.end();
    await new Promise((r) => echo.on('status', r));
    assert.equal(back.join(' '), Array.from({ length: 20 }, (_, i) => `m${i}`).join(' '));
  });

  it('carries a 3 MB message each way (flow control across both hops)', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'x');
    const r = await unary(c, 'Unary', big.toString()).done;
    assert.equal(r.err, null);
    assert.equal(r.value?.length, big.length);
  });

  it('cancels a bidi stream on the server when the client cancels it', async () => {
    const echo = c.Echo();
    echo.on('error', () => {});
    echo.write(Buffer.from('a'));
    await new Promise((r) => echo.once('data', r));
    echo.cancel();
    await until('the server to see the stream cancelled', () => probe.log.cancelled.includes('echo'));
  });

  it('carries the demo Greeter: unary and a server stream in order', async () => {
    assert.equal((await sayHello(g)).pod, 'server-v1-0');
    const pods: string[] = [];
    for await (const m of g.StreamHellos({ name: 's', count: 5, intervalMs: 5 }) as AsyncIterable<{ pod: string; message: string }>) pods.push(m.pod);
    assert.deepEqual(pods, Array(5).fill('server-v1-0'));
  });

  it('carries a trailers-only answer (a method the server does not have: UNIMPLEMENTED)', async () => {
    const raw = { requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
    const Missing = grpc.makeGenericClientConstructor({ Missing: { ...raw, path: '/probe.v1.Probe/Missing' } }, 'Missing');
    const m = new Missing(`127.0.0.1:${mesh.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'probe:50051' }) as any;
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) => m.Missing(Buffer.from('x'), (e: grpc.ServiceError) => resolve(e)));
      assert.equal(err.code, grpc.status.UNIMPLEMENTED);
      assert.match(err.details, /Missing/);
    } finally {
      m.close();
    }
  });

  it('answers an unknown authority with UNAVAILABLE naming the service, and keeps serving', async () => {
    const stray = greeter(`127.0.0.1:${mesh.port}`, 'srever:50051');
    try {
      await assert.rejects(sayHello(stray), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE && /unknown service "srever:50051"/.test(e.details));
    } finally {
      stray.close();
    }
    assert.equal((await sayHello(g)).version, 'v1');
  });

  it('refuses metadata larger than the header limit without falling over', async () => {
    const md = new grpc.Metadata();
    md.set('x-huge', 'y'.repeat(64 * 1024));
    const r = await unary(c, 'Unary', 'big-headers', md).done;
    assert.notEqual(r.err, null);
    assert.ok(!probe.log.metadata.some((m) => m.get('x-huge').length > 0), 'the oversized call reached the server');
    assert.equal((await unary(c, 'Unary', 'after').done).err, null);
  });
});
