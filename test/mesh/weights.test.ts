// Splits through the proxy with real servers: each weight set, two or three backends, holds
// within a binomial bound, and a weight-0 backend gets exactly no calls.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Mesh } from '../../apps/mesh/mesh.ts';
import { checkShares, pct } from '../../lib/shares.ts';
import { countBy, load, meshOver, metrics, replicas, sayHello, sum, trafficSplit, type GreeterClient, type MeshOver, type Replica, type Sample } from './helpers.ts';

const N = 1000;

const grpcRoute = (weights: Record<string, number>) => `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: server-route
spec:
  parentRefs:
    - {name: server, kind: Service, group: core, port: 50051}
  rules:
    - backendRefs:
${Object.entries(weights)
  .map(([v, w]) => `        - {name: server-${v}, port: 50051, weight: ${w}}`)
  .join('\n')}
`;

/** Calls that ended OK on a backend, over all its endpoints. */
const okOn = (samples: Sample[], backend: string) => sum(samples, 'mesh_response_total', (l) => l.backend === backend && l.grpc_status === '0');

describe('weighted splits', () => {
  let all: Replica[];
  let mesh: Mesh;
  let c: GreeterClient;

  let fixture: MeshOver | undefined;
  before(async () => {
    fixture = await meshOver([['v1', 2], ['v2', 2], ['v3', 2]]);
    ({ all, mesh, c } = fixture);
  });
  after(() => fixture?.close());

  const byVersion = async () => {
    const res = await load(N, 16, () => sayHello(c));
    const failed = res.filter((r) => !r.ok);
    assert.equal(failed.length, 0, `failed calls: ${failed.map((r) => !r.ok && r.error.message).slice(0, 3).join('; ')}`);
    return {
      versions: countBy(res, (r) => (r.ok ? r.value.version : '')),
      pods: countBy(res, (r) => (r.ok ? r.value.pod : '')),
    };
  };

  it('without a split, the apex Service spreads calls over all versions and every pod', async () => {
    const { pods } = await byVersion();
    assert.deepEqual(Object.keys(pods).sort(), all.map((r) => r.pod).sort());
  });

  const sets: Array<[string, Record<string, number>, (w: Record<string, number>) => string]> = [
    ['TrafficSplit 100/0', { v1: 100, v2: 0 }, trafficSplit],
    ['TrafficSplit 95/5', { v1: 95, v2: 5 }, trafficSplit],
    ['TrafficSplit 50/50', { v1: 50, v2: 50 }, trafficSplit],
    ['TrafficSplit 0/100', { v1: 0, v2: 100 }, trafficSplit],
    ['TrafficSplit 20/30/50 (three backends)', { v1: 20, v2: 30, v3: 50 }, trafficSplit],
    ['GRPCRoute 0/1/3 (three backends, one at zero)', { v1: 0, v2: 1, v3: 3 }, grpcRoute],
    ['GRPCRoute 70/30', { v1: 70, v2: 30 }, grpcRoute],
  ];
  for (const [name, weights, manifest] of sets) {
    it(`${name}: shares within the binomial bound, zero weights get nothing`, async () => {
      const applied = mesh.apply(manifest(weights));
      assert.deepEqual(
        applied[0]?.backends,
        Object.entries(weights).map(([v, w]) => ({ service: `server-${v}`, weight: w })),
      );
      const { versions, pods } = await byVersion();
      const total = Object.values(weights).reduce((a, b) => a + b, 0);
      const expected = new Map(Object.entries(weights).map(([v, w]) => [v, w / total]));
      const check = checkShares(expected, versions);
      assert.ok(check.ok, `${check.reason} (observed ${[...check.observed].map(([v, q]) => `${v}=${pct(q)}`).join(' ')})`);
      for (const [v, w] of Object.entries(weights)) {
        if (w === 0) assert.equal(versions[v] ?? 0, 0, `${v} has weight 0`);
        // Calls to a backend spread over its replicas, not pinned to one.
        else if (w / total >= 0.3) assert.equal(Object.keys(pods).filter((p) => p.startsWith(`server-${v}-`)).length, 2, `pods of ${v}: ${JSON.stringify(pods)}`);
      }
    });
  }

  it('counts every call in mesh_response_total by backend and endpoint', async () => {
    mesh.apply(trafficSplit({ v1: 1, v2: 1 }));
    const before = await metrics(mesh.adminPort);
    const { versions } = await byVersion();
    const afterSamples = await metrics(mesh.adminPort);
    for (const v of ['v1', 'v2']) {
      assert.equal(okOn(afterSamples, `server-${v}`) - okOn(before, `server-${v}`), versions[v] ?? 0, `backend server-${v}`);
    }
  });
});
