// The proxy's limits, each shown doing its job: request message size (checked by the proxy
// from the gRPC length prefix, also when the prefix is split across writes) and concurrent
// streams per client connection. The header-size limit and the admin endpoint's loopback-only
// binding have their tests in test/mesh/passthrough.test.ts ("refuses metadata larger than the
// header limit") and test/mesh/admin.test.ts ("listens on 127.0.0.1 only").

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_LIMITS, startMesh, type Mesh } from '../../apps/mesh/mesh.ts';
import { replicas, type Replica } from '../mesh/helpers.ts';
import { metrics, sum } from './helpers.ts';

const LIMIT = 64 * 1024;

/** A gRPC service of raw bytes that records the size of every request its handler got. */
async function rawServer(): Promise<{ port: number; sizes: number[]; stop(): Promise<void> }> {
  const sizes: number[] = [];
  const server = new grpc.Server();
  const id = (b: Buffer) => b;
  server.addService(
    { Put: { path: '/raw.v1.Raw/Put', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } },
    {
      Put: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        sizes.push(call.request.length);
        cb(null, Buffer.from('ok'));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { port, sizes, stop: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

/** One call over a raw HTTP/2 session, the request body written in the given pieces. */
function rawCall(session: http2.ClientHttp2Session, pieces: Buffer[]): Promise<{ status: string | undefined; message: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/raw.v1.Raw/Put', ':authority': 'raw:50051', 'content-type': 'application/grpc', te: 'trailers' });
    let status: string | undefined;
    let message: string | undefined;
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('error', () => {});
    req.on('close', () => resolve({ status, message }));
    req.resume();
    (async () => {
      for (const p of pieces) {
        req.write(p);
        await new Promise((r) => setImmediate(r));
      }
      req.end();
    })().catch(reject);
  });
}

const prefix = (len: number) => {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(len, 1);
  return b;
};

describe('request message size', () => {
  let raw: Awaited<ReturnType<typeof rawServer>>;
  let mesh: Mesh;
  let session: http2.ClientHttp2Session;

  before(async () => {
    raw = await rawServer();
    mesh = await startMesh({ services: { raw: [{ address: `127.0.0.1:${raw.port}`, pod: 'raw-0' }] }, limits: { maxMessageBytes: LIMIT } });
    session = http2.connect(`http://127.0.0.1:${mesh.port}`);
  });
  after(async () => {
    session?.close();
    await mesh?.close(500);
    await raw?.stop();
  });

  it('defaults to gRPC\'s own receive limit, 4 MiB', () => {
    assert.equal(DEFAULT_LIMITS.maxMessageBytes, 4 * 1024 * 1024);
  });

  it('a message at the limit goes through; one byte more is RESOURCE_EXHAUSTED from the proxy, never handled upstream', async () => {
    assert.equal((await rawCall(session, [prefix(LIMIT), Buffer.alloc(LIMIT, 1)])).status, '0');
    const big = await rawCall(session, [prefix(LIMIT + 1), Buffer.alloc(LIMIT + 1, 1)]);
    assert.equal(big.status, String(grpc.status.RESOURCE_EXHAUSTED));
    assert.equal(big.message, `request message of ${LIMIT + 1} bytes is larger than the proxy's limit of ${LIMIT} bytes`);
    assert.deepEqual(raw.sizes, [LIMIT], 'the endpoint handled only the call within the limit');
    const m = await metrics(mesh.adminPort);
    assert.equal(sum(m, 'mesh_response_total', (l) => l.grpc_status === '8'), 1, 'counted as RESOURCE_EXHAUSTED');
  });

  it('reads the length prefix also when it arrives split across writes, and in a second message', async () => {
    const p = prefix(LIMIT + 10);
    const split = await rawCall(session, [p.subarray(0, 2), p.subarray(2, 4), p.subarray(4), Buffer.alloc(100)]);
    assert.equal(split.status, String(grpc.status.RESOURCE_EXHAUSTED));
    const small = prefix(3);
    const ok = await rawCall(session, [small.subarray(0, 1), small.subarray(1), Buffer.from('abc')]);
    assert.equal(ok.status, '0');
    // Two messages on a unary path: the server refuses the shape itself, but the proxy must
    // still find the second prefix after the first body.
    const second = await rawCall(session, [Buffer.concat([prefix(2), Buffer.from('hi'), prefix(LIMIT * 2)]), Buffer.alloc(10)]);
    assert.equal(second.status, String(grpc.status.RESOURCE_EXHAUSTED));
    assert.match(second.message ?? '', /proxy's limit/);
    assert.deepEqual(raw.sizes, [LIMIT, 3]);
  });

  it('keeps serving the connection after a refusal', async () => {
    assert.equal((await rawCall(session, [prefix(1), Buffer.from('x')])).status, '0');
  });
});

describe('concurrent streams per client connection', () => {
  let slow: Replica[];
  let mesh: Mesh;

  before(async () => {
    slow = await replicas('v1', 1, { latencyMs: 200 });
    mesh = await startMesh({ services: { server: slow.map((r) => r.endpoint) }, limits: { maxConcurrentStreams: 4 } });
  });
  after(async () => {
    await mesh?.close(500);
    await Promise.all((slow ?? []).map((r) => r.server.shutdown(100)));
  });

  it('announces the limit, and never has more calls of one connection in flight than that', async () => {
    const session = http2.connect(`http://127.0.0.1:${mesh.port}`);
    try {
      await new Promise((r) => session.once('remoteSettings', r));
      assert.equal(session.remoteSettings.maxConcurrentStreams, 4);
      let most = 0;
      const sampler = setInterval(() => (most = Math.max(most, slow[0]!.server.inFlight())), 2);
      // SayHello {name: "x"}: field 1, length 1.
      const hello = Buffer.concat([prefix(3), Buffer.from([0x0a, 0x01, 0x78])]);
      const results = await Promise.all(
        Array.from(
          { length: 12 },
          () =>
            new Promise<string | undefined>((resolve) => {
              const req = session.request({ ':method': 'POST', ':path': '/demo.v1.Greeter/SayHello', ':authority': 'server:50051', 'content-type': 'application/grpc', te: 'trailers' });
              let status: string | undefined;
              req.on('trailers', (t) => (status = String(t['grpc-status'])));
              req.on('error', () => {});
              req.on('close', () => resolve(status));
              req.resume();
              req.end(hello);
            }),
        ),
      );
      clearInterval(sampler);
      assert.deepEqual(results, Array(12).fill('0'), 'the calls beyond the limit wait their turn, none fails');
      assert.ok(most >= 1 && most <= 4, `at most 4 in flight at the server, saw ${most}`);
    } finally {
      session.close();
    }
  });
});
