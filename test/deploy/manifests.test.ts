// Every document under deploy/ validates offline against its kind's schema, carries no
// namespace, and every split in it reads through the shared split model (lib/split.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { duplicateProblems, namespaceProblems, schemaProblems, splitProblems } from './checks.ts';
import { clone, loadManifests, parseManifests, where, type ManifestDoc } from './load.ts';

const docs = loadManifests();
const HEADER_ROUTE = 'deploy/gamma/server-route-header.yaml';
/** The first definition, leaving out the header route's (the same route in its other state). */
const byName = (kind: string, name: string): ManifestDoc => {
  const d = docs.find((x) => x.obj.kind === kind && x.obj.metadata?.name === name && x.file !== HEADER_ROUTE);
  assert.ok(d, `deploy/ has no ${kind} ${name}`);
  return d;
};
/** A copy of one document with `edit` applied to its object. */
const broken = (d: ManifestDoc, edit: (o: any) => void): ManifestDoc => {
  const b = clone(d);
  edit(b.obj);
  return b;
};

describe('deploy/ documents', () => {
  test('the files hold the expected documents', () => {
    const listing = docs.map((d) => `${d.file} ${d.obj.kind} ${d.obj.metadata?.name}`);
    assert.deepEqual(listing, [
      'deploy/gamma/server-route-header.yaml GRPCRoute server-route',
      'deploy/gamma/server-route.yaml Service server',
      'deploy/gamma/server-route.yaml GRPCRoute server-route',
      'deploy/linkerd/client.yaml Deployment client',
      'deploy/linkerd/server-split.yaml Service server',
      'deploy/linkerd/server-split.yaml TrafficSplit server-split',
      'deploy/linkerd/server-v1.yaml ServiceAccount server',
      'deploy/linkerd/server-v1.yaml Service server-v1',
      'deploy/linkerd/server-v1.yaml Deployment server-v1',
      'deploy/linkerd/server-v2.yaml ServiceAccount server',
      'deploy/linkerd/server-v2.yaml Service server-v2',
      'deploy/linkerd/server-v2.yaml Deployment server-v2',
    ]);
  });

  describe('each validates against its schema', () => {
    for (const d of docs) {
      test(where(d), () => assert.deepEqual(schemaProblems(d), []));
    }
  });

  test('schema validation rejects broken copies of each kind', () => {
    const cases: [ManifestDoc, RegExp][] = [
      [broken(byName('Deployment', 'server-v1'), (o) => (o.spec.replicas = '3')), /replicas must be integer/],
      [broken(byName('Deployment', 'server-v1'), (o) => (o.spec.template.spec.containers[0].readinessProbe.grpc.port = 'grpc')), /grpc\/port must be integer/],
      [broken(byName('Deployment', 'client'), (o) => delete o.spec.selector), /must have required property selector/],
      [broken(byName('Service', 'server-v1'), (o) => (o.spec.ports[0].port = '50051')), /port must be integer/],
      [broken(byName('ServiceAccount', 'server'), (o) => (o.automountServiceAccountToken = 'no')), /must be boolean/],
      [broken(byName('GRPCRoute', 'server-route'), (o) => (o.spec.rules[0].backendRefs[1].weight = -1)), /weight must be >= 0/],
      [broken(byName('GRPCRoute', 'server-route'), (o) => (o.apiVersion = 'gateway.networking.k8s.io/v1alpha2')), /expected gateway.networking.k8s.io\/v1/],
      [broken(docs.find((d) => d.file === HEADER_ROUTE)!, (o) => (o.spec.rules[0].matches[0].headers[0].type = 'Prefix')), /type must be equal to one of the allowed values/],
      [broken(byName('TrafficSplit', 'server-split'), (o) => (o.spec.backends[0].weight = 1.5)), /weight must be integer/],
      [broken(byName('TrafficSplit', 'server-split'), (o) => (o.spec.backends[0].weight = '100')), /weight must be integer/],
      [broken(byName('TrafficSplit', 'server-split'), (o) => delete o.spec.backends[0].service), /must have required property 'service'/],
      [broken(byName('TrafficSplit', 'server-split'), (o) => ((o.spec.backend = o.spec.backends), delete o.spec.backends)), /required property 'backends'/],
      [broken(byName('TrafficSplit', 'server-split'), (o) => (o.apiVersion = 'split.smi-spec.io/v1alpha4')), /expected split.smi-spec.io\/v1alpha2/],
      [broken(byName('Service', 'server'), (o) => (o.kind = 'Ingress')), /kind "Ingress" is not one this project deploys/],
    ];
    for (const [d, want] of cases) {
      const problems = schemaProblems(d);
      assert.equal(problems.length, 1, `${where(d)}: expected one problem, got ${JSON.stringify(problems)}`);
      assert.match(problems[0]!, want);
    }
  });

  test('no file sets a namespace (the tutorial applies with -n link)', () => {
    assert.deepEqual(namespaceProblems(docs), []);
    const bad = broken(byName('Service', 'server-v2'), (o) => (o.metadata.namespace = 'default'));
    assert.match(namespaceProblems([bad]).join(), /sets metadata.namespace/);
  });

  test('an object defined in two files is the same in both (ServiceAccount server, apex Service server); a route, on the same parents', () => {
    const repeated = docs.filter((d, i) => docs.findIndex((x) => x.obj.kind === d.obj.kind && x.obj.metadata?.name === d.obj.metadata?.name) !== i);
    assert.deepEqual(
      repeated.map((d) => `${d.obj.kind}/${d.obj.metadata.name}`),
      ['GRPCRoute/server-route', 'Service/server', 'ServiceAccount/server'],
    );
    assert.deepEqual(duplicateProblems(docs), []);
    const drifted = broken(byName('Service', 'server'), (o) => (o.spec.selector = { app: 'server', version: 'v1' }));
    assert.match(duplicateProblems([...docs, drifted]).join(), /differs from the same object/);
    const moved = broken(byName('GRPCRoute', 'server-route'), (o) => (o.spec.parentRefs[0].port = 8080));
    assert.match(duplicateProblems([...docs, moved]).join(), /parentRefs differ from the same route/);
  });

  test('every TrafficSplit and GRPCRoute reads through lib/split.ts with the Services of deploy/ as backends', () => {
    assert.deepEqual(splitProblems(docs), []);
    const cases: [(o: any) => void, RegExp, string][] = [
      [(o) => (o.spec.backends[0].service = 'server-v3'), /backend server-v3 is not a known service/, 'TrafficSplit'],
      [(o) => (o.spec.backends[0].service = 'server'), /apex service itself/, 'TrafficSplit'],
      [(o) => (o.spec.backends[0].weight = 0), /all weights are zero/, 'TrafficSplit'],
      [(o) => (o.spec.service = 'server-v2'), /does not select .*server-v1/, 'TrafficSplit'],
      [(o) => (o.spec.parentRefs[0].kind = 'Gateway'), /parentRef kind must be Service/, 'GRPCRoute'],
      [(o) => (o.spec.parentRefs[0].port = 8080), /parentRef port 8080 is not a port of Service server/, 'GRPCRoute'],
      [(o) => (o.spec.rules[0].backendRefs[0].port = 80), /backendRef server-v1 port 80/, 'GRPCRoute'],
      [(o) => (o.spec.rules[0].backendRefs[1].name = 'server-v9'), /server-v9 is not a known service/, 'GRPCRoute'],
    ];
    for (const [edit, want, kind] of cases) {
      const split = docs.find((d) => d.obj.kind === kind && d.file !== HEADER_ROUTE)!;
      const others = docs.filter((d) => d !== split);
      assert.match(splitProblems([...others, broken(split, edit)]).join('\n'), want);
    }
    // The header route: its match rule is checked like the default one.
    const header = docs.find((d) => d.file === HEADER_ROUTE)!;
    const rest = docs.filter((d) => d !== header);
    const headerCases: [(o: any) => void, RegExp][] = [
      [(o) => (o.spec.rules[0].backendRefs[0].port = 80), /backendRef server-v2 port 80/],
      [(o) => (o.spec.rules[0].backendRefs[0].name = 'server-v9'), /rules\[0\]: |server-v9 is not a known service/],
      [(o) => (o.spec.rules[0].filters = [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'a', value: 'b' }] } }]), /rules\[0\]\.filters is not supported/],
    ];
    for (const [edit, want] of headerCases) assert.match(splitProblems([...rest, broken(header, edit)]).join('\n'), want);
  });

  test('a YAML syntax error names the file and line', () => {
    assert.throws(() => parseManifests('apiVersion: v1\nkind: Service\n---\nkind: [oops\n', 'deploy/x.yaml'), /^Error: deploy\/x.yaml:4: /);
  });
});
