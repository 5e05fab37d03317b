// GRPCRoute matches through the proxy, on real servers: header and method matches (Exact and
// RegularExpression) send calls to their rule's backends, precedence between rules holds, a
// call no rule matches is refused, what is not implemented is refused in one line with the
// routes in force kept, and applying a route with matches under load loses no call.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { stringify } from 'yaml';
import type { Mesh } from '../../apps/mesh/mesh.ts';
import type { HelloReply } from '../../apps/proto/load.ts';
import { countBy, load, meshConfig, meshOver, ROOT, sayHello, underApplies, type GreeterClient, type MeshOver } from './helpers.ts';

const Health = grpc.makeGenericClientConstructor(healthService, 'Health');

/** A GRPCRoute for Service server with these rules, as YAML. */
const grpcRoute = (rules: unknown[], spec: Record<string, unknown> = {}) =>
  stringify({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GRPCRoute',
    metadata: { name: 'server-route' },
    spec: { parentRefs: [{ name: 'server', kind: 'Service', group: 'core', port: 50051 }], rules, ...spec },
  });
const to = (service: string) => ({ backendRefs: [{ name: service, port: 50051 }] });
const weights = (v1: number, v2: number) => ({ backendRefs: [{ name: 'server-v1', port: 50051, weight: v1 }, { name: 'server-v2', port: 50051, weight: v2 }] });
const md = (headers: Record<string, string>) => {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) m.set(k, v);
  return m;
};
const versions = (res: Array<{ ok: true; value: HelloReply } | { ok: false; error: grpc.ServiceError }>) =>
  countBy(res, (r) => (r.ok ? r.value.version : `failed ${grpc.status[r.error.code]}`));

describe('GRPCRoute matches', () => {
  let mesh: Mesh;
  let c: GreeterClient;

  let fixture: MeshOver | undefined;
  before(async () => {
    fixture = await meshOver([['v1', 2], ['v2', 2], ['v3', 1]]);
    ({ mesh, c } = fixture);
  });
  after(() => fixture?.close());

  /** 40 SayHello calls with these headers, by version answered. */
  const say = async (headers: Record<string, string> = {}) => versions(await load(40, 8, () => sayHello(c, { metadata: md(headers) })));

  it('header match, Exact: the tutorial\'s route sends x-canary: true to v2 only, the rest by the default rule', async () => {
    mesh.apply(readFileSync(join(ROOT, 'deploy/gamma/server-route-header.yaml'), 'utf8'));
    assert.deepEqual(await say({ 'x-canary': 'true' }), { v2: 40 });
    // 95/5 for the rest: 400 calls make at least one v2 all but certain (1 - 0.95^400).
    const rest = versions(await load(400, 16, () => sayHello(c, { metadata: md({ 'x-canary': 'false' }) })));
    assert.deepEqual(Object.keys(rest).sort(), ['v1', 'v2'], JSON.stringify(rest));
    assert.ok(rest.v1! > 330, JSON.stringify(rest));
    assert.deepEqual(await say({ 'X-Canary': 'true' }), { v2: 40 }, 'header names are case-insensitive');
  });

  it('header match, RegularExpression: on the whole value', async () => {
    mesh.apply(grpcRoute([{ matches: [{ headers: [{ type: 'RegularExpression', name: 'x-tester', value: 'team-[ab]' }] }], ...to('server-v3') }, to('server-v1')]));
    assert.deepEqual(await say({ 'x-tester': 'team-b' }), { v3: 40 });
    assert.deepEqual(await say({ 'x-tester': 'team-bc' }), { v1: 40 });
    assert.deepEqual(await say(), { v1: 40 });
  });

  it('method match, Exact and RegularExpression, on service and method; a call no rule matches is UNIMPLEMENTED', async () => {
    mesh.apply(
      grpcRoute([
        { matches: [{ method: { service: 'demo.v1.Greeter', method: 'SayHello' } }], ...to('server-v2') },
        { matches: [{ method: { type: 'RegularExpression', service: 'grpc\\.health\\..*' } }], ...to('server-v3') },
      ]),
    );
    assert.deepEqual(await say(), { v2: 40 });
    // Health is served by every replica; only v3's endpoint is behind the rule.
    const h = new Health(`127.0.0.1:${mesh.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'server:50051' }) as any;
    try {
      const checked = await new Promise<unknown>((resolve, reject) => h.check({ service: '' }, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))));
      assert.deepEqual(checked, { status: 'SERVING' });
    } finally {
      h.close();
    }
    const cfg = await fetch(`http://127.0.0.1:${mesh.adminPort}/metrics`).then((r) => r.text());
    assert.match(cfg, /mesh_request_total\{[^}]*backend="server-v3"[^}]*\} [1-9]/, 'the health call went to server-v3');
    // StreamHellos is in no rule: refused, with a message naming the route.
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const st = c.StreamHellos({ name: 'n', count: 1, intervalMs: 1 });
      st.on('data', () => {});
      st.on('error', resolve);
    });
    assert.equal(err.code, grpc.status.UNIMPLEMENTED);
    assert.match(err.details, /no rule of GRPCRoute\/server-route matches \/demo\.v1\.Greeter\/StreamHellos/);
  });

  it('precedence: a service match beats an earlier header rule, a header rule beats the default whatever the order', async () => {
    mesh.apply(grpcRoute([weights(1, 0), { matches: [{ headers: [{ name: 'x-canary', value: 'true' }] }], ...to('server-v2') }, { matches: [{ method: { service: 'demo.v1.Greeter' } }, { headers: [{ name: 'x-a', value: '1' }] }], ...to('server-v3') }]));
    assert.deepEqual(await say(), { v3: 40 }, 'the service match has the most service characters');
    assert.deepEqual(await say({ 'x-canary': 'true' }), { v3: 40 });
    mesh.apply(grpcRoute([weights(1, 0), { matches: [{ headers: [{ name: 'x-canary', value: 'true' }] }], ...to('server-v2') }]));
    assert.deepEqual(await say({ 'x-canary': 'true' }), { v2: 40 });
    assert.deepEqual(await say(), { v1: 40 });
  });

  it('refuses what it does not implement in one line, and keeps the route in force', async () => {
    mesh.apply(grpcRoute([{ matches: [{ headers: [{ name: 'x-canary', value: 'true' }] }], ...to('server-v2') }, weights(1, 0)]));
    const bad: Array<[string, RegExp]> = [
      [grpcRoute([{ ...to('server-v2'), filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'a', value: 'b' }] } }] }]), /rules\[0\]\.filters is not supported by the local mesh/],
      [grpcRoute([{ matches: [{ headers: [{ type: 'Prefix', name: 'x-canary', value: 't' }] }], ...to('server-v2') }]), /type "Prefix" is not supported/],
      [grpcRoute([to('server-v2')], { hostnames: ['server.local'] }), /spec\.hostnames is not supported/],
      [grpcRoute([{ matches: [{ method: { type: 'RegularExpression', method: '[' } }], ...to('server-v2') }]), /is not a valid regular expression/],
    ];
    for (const [text, re] of bad) {
      const res = await fetch(`http://127.0.0.1:${mesh.adminPort}/apply`, { method: 'POST', body: text });
      const body = (await res.json()) as { error: string };
      assert.equal(res.status, 400, text);
      assert.match(body.error, re);
      assert.doesNotMatch(body.error, /\n/);
    }
    const cfg = await meshConfig(mesh.adminPort);
    assert.equal((cfg.splits[0] as { rules?: unknown[] }).rules?.length, 2, 'the route in force is the one applied before');
    assert.deepEqual(await say({ 'x-canary': 'true' }), { v2: 40 });
    assert.deepEqual(await say(), { v1: 40 });
  });

  it('is hitless: applying a route with matches and back, every few ms under load, fails no call and header calls never leave v2', async (t) => {
    const routes = [
      grpcRoute([{ matches: [{ headers: [{ name: 'x-canary', value: 'true' }] }], ...to('server-v2') }, weights(95, 5)]),
      grpcRoute([weights(50, 50), { matches: [{ headers: [{ type: 'RegularExpression', name: 'x-canary', value: 't.*' }] }], ...to('server-v2') }]),
      grpcRoute([{ matches: [{ headers: [{ name: 'x-canary', value: 'true' }] }, { method: { service: 'demo.v1.Greeter', method: 'Nope' } }], ...to('server-v2') }, weights(1, 0)]),
    ];
    const { result: res, applies } = await underApplies(mesh.adminPort, routes, () =>
      load(6000, 16, (i) => sayHello(c, { metadata: md({ 'x-canary': i % 3 === 0 ? 'true' : 'false' }) }).then((r) => ({ header: i % 3 === 0, version: r.version }))),
    );
    const failed = res.filter((r) => !r.ok);
    t.diagnostic(`${res.length} calls, ${applies} applies, ${failed.length} failed`);
    assert.equal(failed.length, 0, failed.slice(0, 3).map((r) => !r.ok && r.error.message).join('; '));
    assert.ok(applies >= 20, `only ${applies} applies`);
    const byGroup = countBy(res, (r) => (r.ok ? `${r.value.header ? 'header' : 'plain'} ${r.value.version}` : ''));
    assert.deepEqual(Object.keys(byGroup).filter((k) => k.startsWith('header')), ['header v2'], JSON.stringify(byGroup));
    assert.ok((byGroup['plain v1'] ?? 0) > 0 && (byGroup['plain v2'] ?? 0) > 0, JSON.stringify(byGroup));
  });
});
