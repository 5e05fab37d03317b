// The pieces fit: Services select real pods, ports and probes line up, splits name Services
// that exist, images are the ones the Dockerfile builds, pods meet Pod Security "restricted",
// the env they set is env the programs read, and the names the tutorial uses are there.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  envProblems,
  imageProblems,
  portProblems,
  resourceProblems,
  restrictedProblems,
  selected,
  selectorProblems,
  unique,
} from './checks.ts';
import { parseDockerfile } from './dockerfile.ts';
import { DOCKERFILE, documentedBuilds, readRepoFile, traceEntry } from './image.ts';
import { programNeeds } from './imports.ts';
import { clone, loadManifests, REPO, type ManifestDoc, type Obj } from './load.ts';
import { splitFromManifest } from '../../lib/split.ts';

const docs = loadManifests();
const stages = parseDockerfile(readRepoFile(DOCKERFILE));
const builds = documentedBuilds();
const tags = new Set(builds.map((b) => b.tag));

function one(kind: string, name: string, from = docs): ManifestDoc {
  const d = from.find((x) => x.obj.kind === kind && x.obj.metadata?.name === name);
  assert.ok(d, `deploy/ has no ${kind} ${name}`);
  return d;
}
/** All documents, with one of them edited: the broken world a check must notice. */
function withEdit(kind: string, name: string, edit: (o: Obj) => void): ManifestDoc[] {
  const all = clone(docs);
  edit(one(kind, name, all).obj);
  return all;
}
const container = (o: Obj): Obj => o.spec.template.spec.containers[0];

describe('manifests fit together', () => {
  test('every Service selector matches a Deployment, every Deployment selects its own pods', () => {
    assert.deepEqual(selectorProblems(docs), []);
    assert.match(selectorProblems(withEdit('Service', 'server-v2', (o) => (o.spec.selector.version = 'v3'))).join(), /server-v2: selector .* matches no Deployment/);
    assert.match(selectorProblems(withEdit('Deployment', 'client', (o) => (o.spec.selector.matchLabels.app = 'klient'))).join(), /does not match the pod template/);
  });

  test('the apex Service server selects both versions, each versioned Service only its own', () => {
    const names = (svc: string) => selected(docs, one('Service', svc)).map((d) => d.obj.metadata.name).sort();
    assert.deepEqual(names('server'), ['server-v1', 'server-v2']);
    assert.deepEqual(names('server-v1'), ['server-v1']);
    assert.deepEqual(names('server-v2'), ['server-v2']);
  });

  test('Service targetPorts and probe ports are container ports', () => {
    assert.deepEqual(portProblems(docs), []);
    assert.match(portProblems(withEdit('Service', 'server-v1', (o) => (o.spec.ports[0].targetPort = 'http'))).join(), /targets "http", which no container/);
    assert.match(portProblems(withEdit('Service', 'server', (o) => (o.spec.ports[0].targetPort = 8080))).join(), /server-v1[\s\S]*server-v2/);
    assert.match(portProblems(withEdit('Deployment', 'server-v2', (o) => (container(o).livenessProbe.grpc.port = 50052))).join(), /livenessProbe port 50052/);
    assert.match(portProblems(withEdit('Deployment', 'server-v1', (o) => (container(o).ports[0].name = 'h2c'))).join(), /targets "grpc"/);
  });

  test('images are the tags the documented docker build commands give, built from real targets', () => {
    assert.ok(builds.length >= 2, 'the Dockerfile documents its build commands');
    const stageNames = new Set(stages.map((s) => s.name));
    for (const b of builds) assert.ok(stageNames.has(b.target), `${b.at}: --target ${b.target} is not a stage of the Dockerfile`);
    assert.deepEqual([...tags].sort(), ['grpc-load-balancing/client:1', 'grpc-load-balancing/server:1']);
    assert.deepEqual(imageProblems(docs, tags), []);
    assert.match(imageProblems(withEdit('Deployment', 'client', (o) => (container(o).image = 'grpc-load-balancing/client:latest')), tags).join(), /not built by the Dockerfile/);
    assert.match(imageProblems(withEdit('Deployment', 'server-v1', (o) => (container(o).imagePullPolicy = 'Always')), tags).join(), /imagePullPolicy Always/);
  });

  test('every pod and container meets Pod Security "restricted" (and a read-only root filesystem)', () => {
    assert.deepEqual(restrictedProblems(docs), []);
    const cases: [string, string, (o: Obj) => void, RegExp][] = [
      ['Deployment', 'client', (o) => delete o.spec.template.spec.securityContext.runAsNonRoot, /runAsNonRoot is not true/],
      ['Deployment', 'client', (o) => delete o.spec.template.spec.securityContext.seccompProfile, /seccompProfile.type is unset/],
      ['Deployment', 'server-v1', (o) => (container(o).securityContext.allowPrivilegeEscalation = true), /allowPrivilegeEscalation/],
      ['Deployment', 'server-v1', (o) => (container(o).securityContext.capabilities = { drop: ['NET_RAW'] }), /drop does not include ALL/],
      ['Deployment', 'server-v2', (o) => (container(o).securityContext.capabilities.add = ['NET_ADMIN']), /adds capability NET_ADMIN/],
      ['Deployment', 'server-v2', (o) => (container(o).securityContext.readOnlyRootFilesystem = false), /readOnlyRootFilesystem/],
      ['Deployment', 'server-v2', (o) => (container(o).securityContext.runAsUser = 0), /runs as uid 0/],
      ['Deployment', 'client', (o) => (o.spec.template.spec.hostNetwork = true), /hostNetwork is set/],
    ];
    for (const [kind, name, edit, want] of cases) assert.match(restrictedProblems(withEdit(kind, name, edit)).join('\n'), want);
  });

  test('every container has cpu and memory requests and limits', () => {
    assert.deepEqual(resourceProblems(docs), []);
    assert.match(resourceProblems(withEdit('Deployment', 'client', (o) => delete container(o).resources.limits.memory)).join(), /resources.limits.memory/);
  });

  test('env names are ones the image\'s program reads; label fieldRefs name the pod\'s labels', () => {
    // What each image runs, traced from its ENTRYPOINT back to the TypeScript source.
    const reads = new Map(builds.map((b) => [b.tag, programNeeds(REPO, [traceEntry(stages, b.target).source]).env]));
    assert.deepEqual(envProblems(docs, reads), []);
    const typo = withEdit('Deployment', 'client', (o) => (container(o).env.find((e: Obj) => e.name === 'SERVER_ADDR').name = 'SERVER_ADDRESS'));
    assert.match(envProblems(typo, reads).join(), /env SERVER_ADDRESS is not read/);
    const label = withEdit('Deployment', 'server-v1', (o) => delete o.spec.template.metadata.labels.version);
    assert.match(envProblems(label, reads).join(), /reads label version, which the pod does not have/);
  });
});

describe('the names and shapes the tutorial relies on', () => {
  const shape = (d: ManifestDoc) => ({
    replicas: d.obj.spec.replicas,
    labels: d.obj.spec.template.metadata.labels,
    annotations: d.obj.spec.template.metadata.annotations,
    file: d.file,
  });

  test('Deployments server-v1, server-v2 (3 replicas) and client (1, meshed, waits for its proxy)', () => {
    assert.deepEqual(unique(docs, 'Deployment').map((d) => d.obj.metadata.name).sort(), ['client', 'server-v1', 'server-v2']);
    for (const v of ['v1', 'v2']) {
      assert.deepEqual(shape(one('Deployment', `server-${v}`)), {
        replicas: 3,
        labels: { app: 'server', version: v },
        annotations: undefined, // servers stay out of the mesh
        file: `deploy/linkerd/server-${v}.yaml`,
      });
    }
    assert.deepEqual(shape(one('Deployment', 'client')), {
      replicas: 1,
      labels: { app: 'client' },
      annotations: { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/proxy-await': 'enabled' },
      file: 'deploy/linkerd/client.yaml',
    });
  });

  test('Services server-v1, server-v2 and the apex server: port grpc 50051', () => {
    for (const [name, selector] of [
      ['server-v1', { app: 'server', version: 'v1' }],
      ['server-v2', { app: 'server', version: 'v2' }],
      ['server', { app: 'server' }],
    ] as const) {
      const spec = one('Service', name).obj.spec;
      assert.deepEqual(spec.selector, selector, name);
      assert.deepEqual(spec.ports.map((p: Obj) => [p.name, p.port]), [['grpc', 50051]], name);
    }
  });

  test('TrafficSplit server-split starts as the source tutorial does: all traffic to server-v1', () => {
    const ts = one('TrafficSplit', 'server-split');
    assert.equal(ts.file, 'deploy/linkerd/server-split.yaml');
    assert.equal(ts.obj.apiVersion, 'split.smi-spec.io/v1alpha2');
    assert.deepEqual(ts.obj.spec, { service: 'server', backends: [{ service: 'server-v1', weight: 100 }] });
    assert.ok(docs.some((d) => d.file === ts.file && d.obj.kind === 'Service' && d.obj.metadata.name === 'server'), 'the apex Service lives in server-split.yaml');
  });

  test('GRPCRoute server-route attaches to Service server: server-v1 100, server-v2 0', () => {
    const r = one('GRPCRoute', 'server-route', docs.filter((d) => d.file === 'deploy/gamma/server-route.yaml'));
    assert.deepEqual(r.obj.spec.parentRefs, [{ name: 'server', kind: 'Service', group: 'core', port: 50051 }]);
    assert.deepEqual(
      r.obj.spec.rules[0].backendRefs.map((b: Obj) => [b.name, b.weight]),
      [['server-v1', 100], ['server-v2', 0]],
    );
  });

  test('GRPCRoute server-route, header version: x-canary "true" to server-v2 only, the rest by weight as the canary step', () => {
    const r = docs.find((d) => d.file === 'deploy/gamma/server-route-header.yaml' && d.obj.kind === 'GRPCRoute');
    assert.ok(r, 'deploy/gamma/server-route-header.yaml holds the route');
    const plain = one('GRPCRoute', 'server-route', docs.filter((d) => d.file === 'deploy/gamma/server-route.yaml'));
    assert.equal(r.obj.metadata.name, plain.obj.metadata.name, 'the same route, so applying the file updates it');
    assert.deepEqual(r.obj.spec.parentRefs, plain.obj.spec.parentRefs);
    const split = splitFromManifest(r.obj);
    assert.deepEqual(split.rules?.map((x) => x.matches), [[{ headers: [{ type: 'Exact', name: 'x-canary', value: 'true' }] }], []]);
    assert.deepEqual(split.rules?.[0]?.backends, [{ service: 'server-v2', weight: 1 }]);
    assert.deepEqual(split.backends, [{ service: 'server-v1', weight: 95 }, { service: 'server-v2', weight: 5 }]);
  });

  test('servers: VERSION from the pod label, POD_NAME from the pod name, native gRPC probes', () => {
    for (const v of ['v1', 'v2']) {
      const c = container(one('Deployment', `server-${v}`).obj);
      const env = Object.fromEntries(c.env.map((e: Obj) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
      assert.equal(env.VERSION, "metadata.labels['version']");
      assert.equal(env.POD_NAME, 'metadata.name');
      assert.deepEqual(c.readinessProbe.grpc, { port: 50051, service: 'demo.v1.Greeter' });
      assert.deepEqual(c.livenessProbe.grpc, { port: 50051 });
    }
  });

  test('client: dials the apex server:50051', () => {
    const env = container(one('Deployment', 'client').obj).env as Obj[];
    assert.equal(env.find((e) => e.name === 'SERVER_ADDR')?.value, 'server:50051');
  });
});
