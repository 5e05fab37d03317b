import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickBackend, shares, splitFromManifest, splitLabel, SplitError } from '../lib/split.ts';

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
