import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callInfo, describeSplit, pickBackend, ruleFor, shares, splitFromManifest, splitDocuments, splitLabel, SplitError } from '../lib/split.ts';

const ts = (backends: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'split.smi-spec.io/v1alpha2',
  kind: 'TrafficSplit',
  metadata: { name: 'server-split' },
  spec: { service: 'server', backends },
  ...extra,
});
const known = new Set(['server', 'server-v1', 'server-v2', 'server-v3']);

test('a TrafficSplit parses into the split model', () => {
  const s = splitFromManifest(ts([{ service: 'server-v1', weight: 95 }, { service: 'server-v2', weight: 5 }]), known);
  assert.deepEqual(s, {
    apex: 'server',
    name: 'server-split',
    kind: 'TrafficSplit',
    backends: [{ service: 'server-v1', weight: 95 }, { service: 'server-v2', weight: 5 }],
  });
  assert.equal(splitLabel(s), '95/5');
  // 7/100 is not a whole number in floating point; the label still is.
  assert.equal(splitLabel({ backends: [{ service: 'server-v1', weight: 7 }, { service: 'server-v2', weight: 93 }] }), '7/93');
  assert.deepEqual([...shares(s)], [['server-v1', 0.95], ['server-v2', 0.05]]);
});

test('a GRPCRoute parses into the same model; weight defaults to 1', () => {
  const s = splitFromManifest(
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GRPCRoute',
      metadata: { name: 'server-split' },
      spec: {
        parentRefs: [{ name: 'server', kind: 'Service', group: 'core', port: 50051 }],
        rules: [{ backendRefs: [{ name: 'server-v1', port: 50051, weight: 50 }, { name: 'server-v2', port: 50051 }] }],
      },
    },
    known,
  );
  assert.equal(s.apex, 'server');
  assert.deepEqual(s.backends, [{ service: 'server-v1', weight: 50 }, { service: 'server-v2', weight: 1 }]);
});

test('bad splits are refused with a message naming the value', () => {
  const bad: Array<[unknown, RegExp]> = [
    [ts([{ service: 'server-v1', weight: 9.5 }]), /whole number.*9\.5/],
    [ts([{ service: 'server-v1', weight: -1 }]), /whole number/],
    [ts([{ service: 'server-v1', weight: '50' }]), /whole number.*"50"/],
    [ts([{ service: 'server-v1', weight: 0 }, { service: 'server-v2', weight: 0 }]), /all weights are zero/],
    [ts([{ service: 'server-v9', weight: 1 }]), /server-v9 is not a known service/],
    [ts([{ service: 'server', weight: 1 }]), /apex service itself/],
    [ts([{ service: 'server-v1', weight: 1 }, { service: 'server-v1', weight: 1 }]), /listed twice/],
    [ts([]), /no backends/],
    [ts([{ service: 'server-v1', weight: 1 }], { apiVersion: 'split.smi-spec.io/v1alpha4' }), /v1alpha4.*not served/],
    [ts([{ service: 'server-v1', weight: 1 }], { kind: 'Service' }), /not a split/],
    ['text', /not a mapping/],
  ];
  for (const [obj, re] of bad) assert.throws(() => splitFromManifest(obj, known), (e: Error) => e instanceof SplitError && re.test(e.message));
});

test('pickBackend follows the weights and never picks a zero weight', () => {
  const s = { backends: [{ service: 'a', weight: 0 }, { service: 'b', weight: 3 }, { service: 'c', weight: 1 }] };
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
  for (let i = 0; i < 1000; i++) counts[pickBackend(s, i / 1000)]!++;
  assert.deepEqual(counts, { a: 0, b: 750, c: 250 });
  assert.equal(pickBackend(s, 0.9999999999999999), 'c');
});

// GRPCRoutes with matches and several rules (Gateway API v1.4.0 apis/v1/grpcroute_types.go).
const route = (rules: unknown[], spec: Record<string, unknown> = {}) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'GRPCRoute',
  metadata: { name: 'server-route' },
  spec: { parentRefs: [{ name: 'server', kind: 'Service', group: 'core', port: 50051 }], rules, ...spec },
});
const to = (...services: string[]) => ({ backendRefs: services.map((name) => ({ name, port: 50051 })) });
const header = (name: string, value: string, type?: string) => ({ headers: [{ name, value, ...(type ? { type } : {}) }] });
const method = (m: Record<string, string>) => ({ method: m });
const call = (path: string, headers: Record<string, string> = {}) => callInfo(path, headers);
const SAY = '/demo.v1.Greeter/SayHello';
/** The first backend of the rule a call takes, or 'none'. */
const via = (s: ReturnType<typeof splitFromManifest>, c: ReturnType<typeof call>) => ruleFor(s, c)?.backends[0]?.service ?? 'none';

test('a GRPCRoute with rules and matches parses into one model; backends are the default rule\'s', () => {
  const s = splitFromManifest(
    route([
      { matches: [{ ...header('X-Canary', 'true'), ...method({ service: 'demo.v1.Greeter' }) }, method({ type: 'RegularExpression', method: 'Say.*' })], ...to('server-v2') },
      { backendRefs: [{ name: 'server-v1', port: 50051, weight: 95 }, { name: 'server-v2', port: 50051, weight: 5 }] },
    ]),
    known,
  );
  assert.deepEqual(s.backends, [{ service: 'server-v1', weight: 95 }, { service: 'server-v2', weight: 5 }]);
  assert.deepEqual(s.rules, [
    {
      matches: [
        { method: { type: 'Exact', service: 'demo.v1.Greeter' }, headers: [{ type: 'Exact', name: 'x-canary', value: 'true' }] },
        { method: { type: 'RegularExpression', method: 'Say.*' }, headers: [] },
      ],
      backends: [{ service: 'server-v2', weight: 1 }],
    },
    { matches: [], backends: [{ service: 'server-v1', weight: 95 }, { service: 'server-v2', weight: 5 }] },
  ]);
  assert.equal(describeSplit(s), 'server -> [method demo.v1.Greeter/* and header x-canary=true or method */Say.* (regex)] server-v2 1 | [*] server-v1 95, server-v2 5');
  // One rule without matches stays the weights-only case.
  assert.equal('rules' in splitFromManifest(route([to('server-v1')]), known), false);
  // Without a rule free of matches, backends are the first rule's.
  assert.deepEqual(splitFromManifest(route([{ matches: [header('a', 'b')], ...to('server-v2') }, { matches: [header('c', 'd')], ...to('server-v1') }]), known).backends, [{ service: 'server-v2', weight: 1 }]);
});

test('header matches: Exact (names case-insensitive, values not), RegularExpression on the whole value, all headers of a match', () => {
  const s = splitFromManifest(route([
    { matches: [header('x-canary', 'true')], ...to('server-v2') },
    { matches: [header('x-tester', 'team-(a|b)', 'RegularExpression')], ...to('server-v3') },
    { matches: [{ headers: [{ name: 'x-a', value: '1' }, { name: 'x-b', value: '2' }] }], ...to('server-v2', 'server-v3') },
    to('server-v1'),
  ]), known);
  assert.equal(via(s, call(SAY, { 'x-canary': 'true' })), 'server-v2');
  assert.equal(via(s, call(SAY, { 'x-canary': 'True' })), 'server-v1');
  assert.equal(via(s, call(SAY, { 'x-tester': 'team-b' })), 'server-v3');
  assert.equal(via(s, call(SAY, { 'x-tester': 'team-bb' })), 'server-v1', 'a regex must match the whole value');
  assert.equal(via(s, call(SAY, { 'x-a': '1' })), 'server-v1', 'headers of one match are ANDed');
  assert.equal(via(s, call(SAY, { 'x-a': '1', 'x-b': '2' })), 'server-v2');
  assert.equal(via(s, callInfo(SAY, { 'x-canary': ['false', 'true'] })), 'server-v2', 'a repeated header holds when one value does');
  assert.equal(via(s, call(SAY)), 'server-v1');
  // Only the first of equivalent header names counts (GRPCHeaderMatch.Name).
  const dup = splitFromManifest(route([{ matches: [{ headers: [{ name: 'X-A', value: '1' }, { name: 'x-a', value: '2' }] }], ...to('server-v2') }, to('server-v1')]), known);
  assert.deepEqual(dup.rules![0]!.matches[0]!.headers, [{ type: 'Exact', name: 'x-a', value: '1' }]);
});

test('method matches: service and/or method, Exact and RegularExpression; a call no rule matches takes none', () => {
  const s = splitFromManifest(route([
    { matches: [method({ service: 'demo.v1.Greeter', method: 'StreamHellos' })], ...to('server-v3') },
    { matches: [method({ method: 'SayHello' })], ...to('server-v2') },
    { matches: [method({ type: 'RegularExpression', service: 'grpc\\.health\\..*' })], ...to('server-v1') },
  ]), known);
  assert.equal(via(s, call('/demo.v1.Greeter/StreamHellos')), 'server-v3');
  assert.equal(via(s, call(SAY)), 'server-v2');
  assert.equal(via(s, call('/other.Greeter/SayHello')), 'server-v2', 'a method alone matches any service');
  assert.equal(via(s, call('/grpc.health.v1.Health/Check')), 'server-v1');
  assert.equal(via(s, call('/demo.v1.Greeter/Unknown')), 'none');
  assert.equal(via(s, call('/demo.v1.GreeterX/StreamHellos')), 'none', 'Exact is exact');
});

test('precedence: most characters in the service, then in the method, then most header matches; ties to the first rule', () => {
  // A header rule listed first loses to a service match: service characters come first.
  const a = splitFromManifest(route([{ matches: [header('x-canary', 'true')], ...to('server-v2') }, { matches: [method({ service: 'demo.v1.Greeter' })], ...to('server-v1') }]), known);
  assert.equal(via(a, call(SAY, { 'x-canary': 'true' })), 'server-v1');
  assert.equal(via(a, call('/grpc.health.v1.Health/Check', { 'x-canary': 'true' })), 'server-v2');
  // The longer service wins whatever the order (a regex counts its characters as written).
  const b = splitFromManifest(route([{ matches: [method({ type: 'RegularExpression', service: 'demo\\..*' })], ...to('server-v2') }, { matches: [method({ service: 'demo.v1.Greeter' })], ...to('server-v3') }]), known);
  assert.equal(via(b, call(SAY)), 'server-v3');
  // Same service: the one that also names the method.
  const c = splitFromManifest(route([{ matches: [method({ service: 'demo.v1.Greeter' })], ...to('server-v2') }, { matches: [method({ service: 'demo.v1.Greeter', method: 'SayHello' })], ...to('server-v3') }]), known);
  assert.equal(via(c, call(SAY)), 'server-v3');
  assert.equal(via(c, call('/demo.v1.Greeter/StreamHellos')), 'server-v2');
  // Same method: the one with more header matches; a rule without matches comes last.
  const d = splitFromManifest(route([to('server-v1'), { matches: [header('x-a', '1')], ...to('server-v2') }, { matches: [{ headers: [{ name: 'x-a', value: '1' }, { name: 'x-b', value: '2' }] }], ...to('server-v3') }]), known);
  assert.equal(via(d, call(SAY, { 'x-a': '1', 'x-b': '2' })), 'server-v3');
  assert.equal(via(d, call(SAY, { 'x-a': '1' })), 'server-v2');
  assert.equal(via(d, call(SAY)), 'server-v1');
  // A full tie: the first rule; within a rule, any of its matches counts at its best.
  const e = splitFromManifest(route([{ matches: [header('x-a', '1')], ...to('server-v2') }, { matches: [header('x-b', '2'), method({ service: 'demo.v1.Greeter' })], ...to('server-v3') }]), known);
  assert.equal(via(e, call('/x.Y/Z', { 'x-a': '1', 'x-b': '2' })), 'server-v2');
  assert.equal(via(e, call(SAY, { 'x-a': '1' })), 'server-v3');
});

test('what the model does not implement is refused in one line naming it', () => {
  const bad: Array<[unknown, RegExp]> = [
    [route([{ ...to('server-v1'), filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'a', value: 'b' }] } }] }]), /rules\[0\]\.filters is not supported by the local mesh/],
    [route([to('server-v1')], { hostnames: ['server.example'] }), /GRPCRoute spec\.hostnames is not supported/],
    [route([{ matches: [header('x-a', 'b', 'Prefix')], ...to('server-v1') }]), /rules\[0\]\.matches\[0\]\.headers\[0\]\.type "Prefix" is not supported \(Exact or RegularExpression\)/],
    [route([{ matches: [method({ type: 'PathPrefix', service: 'demo' })], ...to('server-v1') }]), /method\.type "PathPrefix" is not supported/],
    [route([{ matches: [{ path: { value: '/' } }], ...to('server-v1') }]), /matches\[0\]\.path is not supported/],
    [route([{ matches: [method({ type: 'RegularExpression', service: '(' })], ...to('server-v1') }]), /method\.service "\(" is not a valid regular expression/],
    [route([{ matches: [method({ service: 'demo/v1' })], ...to('server-v1') }]), /"demo\/v1" is not a valid gRPC service name/],
    [route([{ matches: [{ method: {} }], ...to('server-v1') }]), /method needs a service or a method/],
    [route([{ matches: [header('x-a', 'b')], ...to('server-v9') }, to('server-v1')]), /server-v9 is not a known service/],
    [route([{ backendRefs: [{ name: 'server-v1', filters: [{ type: 'RequestMirror' }] }] }]), /backendRefs\[0\]\.filters is not supported/],
    [route([{ ...to('server-v1'), sessionPersistence: { type: 'Cookie' } }]), /sessionPersistence is not supported/],
    [route([]), /at least one rule/],
  ];
  for (const [obj, re] of bad) {
    assert.throws(() => splitFromManifest(obj, known), (e: Error) => e instanceof SplitError && re.test(e.message) && !e.message.includes('\n'), String(re));
  }
});

test('splitDocuments reads the split documents of a YAML text, each with its own text', () => {
  const text = [
    'apiVersion: v1\nkind: Service\nmetadata: {name: server}\n',
    '---\n# the split\napiVersion: split.smi-spec.io/v1alpha2\nkind: TrafficSplit\nmetadata: {name: server-split}\nspec: {service: server, backends: [{service: server-v1, weight: 1}]}\n',
  ].join('');
  const docs = splitDocuments(text);
  assert.deepEqual(
    docs.map((d) => [d.index, d.kind, d.name]),
    [[1, 'TrafficSplit', 'server-split']],
  );
  assert.equal(splitFromManifest(docs[0]!.obj).apex, 'server');
  assert.equal(splitDocuments(docs[0]!.text)[0]!.text, docs[0]!.text, 'the text applies again as it is');
  assert.throws(() => splitDocuments('kind: TrafficSplit\n  spec: : [\n'), (e: unknown) => e instanceof SplitError && /^broken YAML at line \d+, column \d+/.test(e.message));
  assert.throws(() => splitDocuments('kind: TrafficSplit\nspec: *nope\n'), /document 1: Unresolved alias/);
  assert.deepEqual(splitDocuments(''), []);
});
