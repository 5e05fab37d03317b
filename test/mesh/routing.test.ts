// The routing table and the balancer, without sockets: what apply accepts and refuses, how an
// authority resolves, and how power-of-two-choices over peak-EWMA picks.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cost, DEFAULT_RTT_MS, newEstimate, observe, pickP2C } from '../../apps/mesh/balancer.ts';
import {
  applyManifests,
  ConfigError,
  deleteManifests,
  emptyTable,
  parseServices,
  route,
  serviceForAuthority,
  withServices,
  type RoutingTable,
} from '../../apps/mesh/routing-table.ts';

const ep = (port: number, pod: string) => ({ address: `127.0.0.1:${port}`, pod });
const table: RoutingTable = withServices(
  emptyTable(),
  parseServices({
    server: [ep(1, 'server-v1-a'), ep(2, 'server-v2-a')],
    'server-v1': [ep(1, 'server-v1-a')],
    'server-v2': [ep(2, 'server-v2-a')],
    'server-v3': [],
  }),
);

const ts = (backends: string, apiVersion = 'split.smi-spec.io/v1alpha2', service = 'server') => `apiVersion: ${apiVersion}
kind: TrafficSplit
metadata:
  name: server-split
spec:
  service: ${service}
  backends:
${backends}`;
const b = (service: string, weight: unknown) => `    - service: ${service}\n      weight: ${JSON.stringify(weight)}\n`;

const route_ = (backends: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: server-route
spec:
  parentRefs:
    - name: server
      kind: Service
      group: core
      port: 50051
  rules:
    - backendRefs:
${backends}`;
const br = (name: string, weight: number) => `        - name: ${name}\n          port: 50051\n          weight: ${weight}\n`;

describe('applyManifests', () => {
  it('applies a TrafficSplit and a GRPCRoute, ignoring other documents', () => {
    const withService = `apiVersion: v1\nkind: Service\nmetadata: {name: server}\nspec: {selector: {app: server}}\n---\n${ts(b('server-v1', 95) + b('server-v2', 5))}`;
    const a = applyManifests(table, withService);
    assert.deepEqual(a.applied.map((s) => [s.apex, s.kind, s.backends]), [['server', 'TrafficSplit', [{ service: 'server-v1', weight: 95 }, { service: 'server-v2', weight: 5 }]]]);
    assert.equal(a.table.splits.get('server')?.backends[1]?.weight, 5);
    const g = applyManifests(a.table, route_(br('server-v1', 0) + br('server-v2', 100)));
    assert.equal(g.table.splits.get('server')?.kind, 'GRPCRoute');
    assert.deepEqual(g.table.splits.get('server')?.backends.map((x) => x.weight), [0, 100]);
  });

  it('never changes the table it was given', () => {
    applyManifests(table, ts(b('server-v1', 1)));
    assert.equal(table.splits.size, 0);
  });

  const refusals: Array<[string, string, RegExp]> = [
    ['unknown backend', ts(b('server-v1', 50) + b('server-v9', 50)), /backend server-v9 is not a known service/],
    ['fractional weight', ts(b('server-v1', 50.5) + b('server-v2', 49.5)), /whole number >= 0, got 50\.5/],
    ['negative weight', ts(b('server-v1', -1) + b('server-v2', 100)), /whole number >= 0, got -1/],
    ['weight as a string', ts(b('server-v1', '50') + b('server-v2', 50)), /whole number >= 0, got "50"/],
    ['all weights zero', ts(b('server-v1', 0) + b('server-v2', 0)), /all weights are zero/],
    ['unserved apiVersion', ts(b('server-v1', 100), 'split.smi-spec.io/v1alpha4'), /apiVersion "split\.smi-spec\.io\/v1alpha4" is not served/],
    ['unknown apex', ts(b('server-v1', 100), undefined, 'srever'), /apex service srever is not a known service/],
    ['the apex as its own backend', ts(b('server', 100)), /apex service itself/],
    ['broken YAML', 'kind: TrafficSplit\nspec: [unclosed\n', /broken YAML at line \d+/],
    ['no split document', 'apiVersion: v1\nkind: Service\nmetadata: {name: server}\n', /no TrafficSplit or GRPCRoute/],
    ['empty input', '', /no TrafficSplit or GRPCRoute/],
    ['wrong kind only', ts(b('server-v1', 100)).replace('kind: TrafficSplit', 'kind: TrafficSplitt'), /no TrafficSplit or GRPCRoute/],
    ['two splits for one apex', `${ts(b('server-v1', 100))}---\n${route_(br('server-v2', 1))}`, /second split for server/],
  ];
  for (const [what, text, re] of refusals) {
    it(`refuses ${what} with one clear line`, () => {
      assert.throws(
        () => applyManifests(table, text),
        (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'),
      );
    });
  }

  it('refuses a whole multi-document input when one document is bad', () => {
    const before = applyManifests(table, ts(b('server-v1', 100))).table;
    const text = `${route_(br('server-v1', 50) + br('server-v2', 50))}---\n${ts(b('server-v9', 1))}`;
    assert.throws(() => applyManifests(before, text), /document 2 \(TrafficSplit\/server-split\)/);
    assert.deepEqual(before.splits.get('server')?.backends, [{ service: 'server-v1', weight: 100 }]);
  });

  it('deletes a split by kind and name, and refuses one not in force', () => {
    const t = applyManifests(table, ts(b('server-v1', 100))).table;
    const d = deleteManifests(t, ts(b('server-v1', 100)));
    assert.equal(d.deleted[0]?.apex, 'server');
    assert.equal(d.table.splits.size, 0);
    assert.throws(() => deleteManifests(d.table, ts(b('server-v1', 100))), /no such split in force/);
  });
});

describe('endpoint table', () => {
  it('checks addresses and names, one line each', () => {
    assert.throws(() => parseServices({ s: [{ address: 'nope' }] }), /services\.s\[0\]\.address must be host:port, got "nope"/);
    assert.throws(() => parseServices({ s: [{ address: '127.0.0.1:70000' }] }), /port 70000 is out of range/);
    assert.throws(() => parseServices({ 'Bad Name': [] }), /is not a service name/);
    assert.throws(() => parseServices([]), /must be an object/);
    assert.throws(() => parseServices({ s: [ep(1, 'a'), ep(1, 'b')] }), /listed twice/);
    assert.equal(parseServices({ s: [{ address: '[::1]:5' }] }).get('s')?.[0]?.pod, '[::1]:5');
  });

  it('refuses to drop a service a split in force uses', () => {
    const t = applyManifests(table, ts(b('server-v1', 100))).table;
    assert.throws(() => withServices(t, parseServices({ server: [], 'server-v2': [] })), /server-v1 is used by the split for server/);
  });
});

describe('route', () => {
  it('reads the Service from the authority', () => {
    assert.equal(serviceForAuthority(table, 'server:50051'), 'server');
    assert.equal(serviceForAuthority(table, 'server'), 'server');
    assert.equal(serviceForAuthority(table, 'server-v2.default.svc.cluster.local:50051'), 'server-v2');
    assert.equal(serviceForAuthority(table, 'SERVER:1'), 'server');
    assert.equal(serviceForAuthority(table, '127.0.0.1:50051'), undefined);
  });

  it('without a split, the apex reaches its own endpoints (both versions)', () => {
    const r = route(table, 'server:50051', 0.99);
    assert.ok(r.ok);
    assert.equal(r.backend, 'server');
    assert.deepEqual(r.endpoints.map((e) => e.pod), ['server-v1-a', 'server-v2-a']);
  });

  it('with a split, follows its weights and never picks a zero-weight backend', () => {
    const t = applyManifests(table, ts(b('server-v1', 0) + b('server-v2', 3) + b('server-v3', 1))).table;
    const seen: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const r = route(t, 'server:50051', i / 400);
      assert.ok(r.ok);
      seen[r.backend] = (seen[r.backend] ?? 0) + 1;
    }
    assert.deepEqual(seen, { 'server-v2': 300, 'server-v3': 100 });
  });

  it('names the unknown service', () => {
    const r = route(table, 'srever:50051', 0);
    assert.ok(!r.ok);
    assert.match(r.message, /unknown service "srever:50051" \(known: server, server-v1, server-v2, server-v3\)/);
  });
});

describe('peak-EWMA + power of two choices', () => {
  it('takes a slower sample at once and forgets it with time', () => {
    const e = newEstimate(0, 1);
    observe(e, 50, 0);
    assert.equal(e.rttMs, 50);
    observe(e, 1, 10_000); // one decay constant later
    assert.ok(Math.abs(e.rttMs - (50 / Math.E + 1 * (1 - 1 / Math.E))) < 1e-9);
    assert.equal(newEstimate(0).rttMs, DEFAULT_RTT_MS);
  });

  it('scales the cost by the calls in flight', () => {
    const e = newEstimate(0, 2);
    e.inflight = 3;
    assert.equal(cost(e, 0), 8);
  });

  it('picks the cheaper of two distinct candidates', () => {
    const items = [newEstimate(0, 10), newEstimate(0, 1), newEstimate(0, 5)];
    // random() -> 0 picks index 0, then 0 of the rest -> index 1: 1 ms beats 10 ms.
    assert.equal(pickP2C(items, (x) => x, 0, () => 0), items[1]);
    // index 2 then index 0: 5 ms beats 10 ms.
    const seq = [0.7, 0];
    assert.equal(pickP2C(items, (x) => x, 0, () => seq.shift()!), items[2]);
    assert.equal(pickP2C([items[0]!], (x) => x, 0), items[0]);
    assert.equal(pickP2C([], (x) => x, 0), undefined);
  });

  it('never picks the one most loaded endpoint when others are idle', () => {
    const items = [newEstimate(0, 1), newEstimate(0, 1), newEstimate(0, 1)];
    items[0]!.inflight = 10;
    for (let i = 0; i < 200; i++) assert.notEqual(pickP2C(items, (x) => x, 0), items[0]);
  });
});
