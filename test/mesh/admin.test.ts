// The admin endpoint (loopback only; ready, config, metrics, apply/delete, endpoints) and the
// proxy's command line (start-up line, bad files refused in one line, SIGTERM exits 0).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMesh, type Mesh } from '../../apps/mesh/mesh.ts';
import { parseMeshListening, type MeshListening } from '../../lib/readiness.ts';
import { accepts, greeter, meshConfig, replicas, ROOT, sayHello, serviceTable, type Replica } from './helpers.ts';

const SPLIT = `apiVersion: v1
kind: Service
metadata: {name: server}
spec: {selector: {app: server}, ports: [{name: grpc, port: 50051}]}
---
apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: {name: server-split}
spec:
  service: server
  backends: [{service: server-v1, weight: 100}, {service: server-v2, weight: 0}]
`;

describe('admin endpoint', () => {
  let all: Replica[];
  let mesh: Mesh;
  const url = (p: string) => `http://127.0.0.1:${mesh.adminPort}${p}`;

  before(async () => {
    all = [...(await replicas('v1', 1)), ...(await replicas('v2', 1))];
    mesh = await startMesh({ services: serviceTable(all), manifests: SPLIT });
  });
  after(async () => {
    await mesh?.close(500);
    await Promise.all((all ?? []).map((r) => r.server.shutdown(100)));
  });

  it('listens on 127.0.0.1 only (as does the proxy)', async (t) => {
    assert.ok(await accepts(mesh.adminPort));
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    if (others.length === 0) t.diagnostic('no non-loopback IPv4 address to try');
    for (const ip of others) {
      assert.equal(await accepts(mesh.adminPort, ip), false, `admin answers on ${ip}`);
      assert.equal(await accepts(mesh.port, ip), false, `proxy answers on ${ip}`);
    }
    assert.equal(await accepts(mesh.adminPort, '::1'), false, 'admin answers on ::1');
  });

  it('GET /ready, /config', async () => {
    const ready = await fetch(url('/ready'));
    assert.equal(ready.status, 200);
    const cfg = await meshConfig(mesh.adminPort);
    assert.equal(cfg.listen, `127.0.0.1:${mesh.port}`);
    assert.deepEqual(cfg.services['server-v1']!.map((e) => [e.pod, e.state]), [['server-v1-0', 'ready']]);
    assert.deepEqual(cfg.splits, [
      { apex: 'server', name: 'server-split', kind: 'TrafficSplit', backends: [{ service: 'server-v1', weight: 100 }, { service: 'server-v2', weight: 0 }] },
    ]);
  });

  it('GET /metrics: response_total by service, backend, endpoint, pod and gRPC status', async () => {
    const c = greeter(`127.0.0.1:${mesh.port}`, 'server:50051');
    try {
      for (let i = 0; i < 5; i++) await sayHello(c);
    } finally {
      c.close();
    }
    const text = await (await fetch(url('/metrics'))).text();
    const ep = all[0]!.endpoint.address;
    assert.match(text, new RegExp(`^mesh_response_total\\{service="server",backend="server-v1",endpoint="${ep}",pod="server-v1-0",grpc_status="0"\\} 5$`, 'm'));
    assert.match(text, new RegExp(`^mesh_request_total\\{service="server",backend="server-v1",endpoint="${ep}",pod="server-v1-0"\\} 5$`, 'm'));
    assert.match(text, /^mesh_response_latency_ms_count\{service="server",backend="server-v1"\} 5$/m);
    assert.match(text, /^# TYPE mesh_response_latency_ms histogram$/m);
    assert.match(text, /^mesh_endpoint_ready\{service="server-v2",endpoint="[^"]+",pod="server-v2-0"\} 1$/m);
    // The proxy's own time, each leg once per call, in cumulative buckets ending at the count.
    for (const leg of ['request', 'response']) {
      assert.match(text, new RegExp(`^mesh_proxy_overhead_ms_count\\{leg="${leg}"\\} 5$`, 'm'));
      assert.match(text, new RegExp(`^mesh_proxy_overhead_ms_bucket\\{leg="${leg}",le="\\+Inf"\\} 5$`, 'm'));
      const buckets = [...text.matchAll(new RegExp(`^mesh_proxy_overhead_ms_bucket\\{leg="${leg}",le="[^"]+"\\} (\\d+)$`, 'gm'))].map((m) => Number(m[1]));
      assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b), `${leg} buckets are cumulative`);
      assert.ok(Number(new RegExp(`^mesh_proxy_overhead_ms_sum\\{leg="${leg}"\\} (\\S+)$`, 'm').exec(text)?.[1]) > 0, `${leg} sum`);
    }
  });

  it('POST /delete returns the apex to its own endpoints', async () => {
    let res = await fetch(url('/delete'), { method: 'POST', body: SPLIT });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as any).deleted.map((s: any) => s.apex), ['server']);
    assert.deepEqual((await meshConfig(mesh.adminPort)).splits, []);
    res = await fetch(url('/delete'), { method: 'POST', body: SPLIT });
    assert.equal(res.status, 400);
    assert.equal((await fetch(url('/apply'), { method: 'POST', body: SPLIT })).status, 200);
  });

  it('PUT /endpoints checks its input; unknown routes are 404', async () => {
    for (const [body, re] of [
      ['{not json', /not JSON/],
      ['{"server": [{"address": "nowhere"}]}', /server\[0\]\.address must be host:port/],
      ['{"server": []}', /server-v1 is used by the split for server/],
    ] as const) {
      const res = await fetch(url('/endpoints'), { method: 'PUT', body });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as any).error, re);
    }
    assert.equal((await fetch(url('/nope'))).status, 404);
    assert.equal((await fetch(url('/apply'))).status, 404);
    assert.equal((await fetch(url('/ready'))).status, 200, 'still ready after refused changes');
  });

  it('startMesh rejects a port in use (proxy or admin) and leaves nothing behind', async () => {
    await assert.rejects(startMesh({ port: mesh.port, services: {} }), /EADDRINUSE/);
    await assert.rejects(startMesh({ adminPort: mesh.adminPort, services: {} }), /EADDRINUSE/);
  });

  it('/ready is 503 while a Service has no live endpoint', async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    const m = await startMesh({ services: { dead: [{ address: `127.0.0.1:${port}`, pod: 'dead-0' }] } });
    try {
      const res = await fetch(`http://127.0.0.1:${m.adminPort}/ready`);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /no live endpoint for dead/);
    } finally {
      await m.close(100);
    }
  });
});

describe('command line', () => {
  let dir: string;
  let all: Replica[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mesh-cli-'));
    all = await replicas('v1', 1);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all((all ?? []).map((r) => r.server.shutdown(100)));
  });

  const run = (args: string[]) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/mesh/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, exit, out: () => out, err: () => err };
  };

  it('starts from --config and --split, prints its ports, exits 0 on SIGTERM', async () => {
    const ep = all[0]!.endpoint;
    writeFileSync(join(dir, 'mesh.json'), JSON.stringify({ services: { server: [ep], 'server-v1': [ep], 'server-v2': [] } }));
    writeFileSync(join(dir, 'split.yaml'), SPLIT);
    const p = run(['--config', join(dir, 'mesh.json'), '--split', join(dir, 'split.yaml')]);
    try {
      const m = await new Promise<MeshListening>((resolve, reject) => {
        const t = setInterval(() => {
          const hit = parseMeshListening(p.out());
          if (hit) {
            clearInterval(t);
            resolve(hit);
          }
        }, 20);
        void p.exit.then((code) => {
          clearInterval(t);
          reject(new Error(`exited ${code}: ${p.err()}`));
        });
      });
      const c = greeter(`127.0.0.1:${m.port}`, 'server:50051');
      try {
        assert.equal((await sayHello(c)).pod, 'server-v1-0');
      } finally {
        c.close();
      }
      const cfg = await meshConfig(m.adminPort);
      assert.equal(cfg.splits[0]!.name, 'server-split');
    } finally {
      p.child.kill('SIGTERM');
    }
    assert.equal(await p.exit, 0);
  });

  for (const [what, config, split, re] of [
    ['a config that is not JSON', '{services:', undefined, /mesh\.json: not JSON/],
    ['a bad endpoint', '{"services": {"server": [{"address": "x"}]}}', undefined, /mesh\.json: services\.server\[0\]\.address must be host:port, got "x"/],
    ['an unknown key', '{"services": {}, "port": 1}', undefined, /mesh\.json: unknown key "port"/],
    ['a split with an unknown backend', '{"services": {"server": [], "server-v1": []}}', SPLIT, /split\.yaml: document 2 \(TrafficSplit\/server-split\): backend server-v2 is not a known service/],
  ] as const) {
    it(`refuses ${what} in one line, exit 2`, async () => {
      writeFileSync(join(dir, 'mesh.json'), config);
      const args = ['--config', join(dir, 'mesh.json')];
      if (split) {
        writeFileSync(join(dir, 'split.yaml'), split);
        args.push('--split', join(dir, 'split.yaml'));
      }
      const p = run(args);
      assert.equal(await p.exit, 2);
      assert.match(p.err(), re);
      assert.equal(p.err().trim().split('\n').length, 1, p.err());
    });
  }
});
