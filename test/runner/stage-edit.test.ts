// Stage edits: merged into the named file with comments kept, validated through
// lib/split.ts, rejected with FILE:LINE and nothing written, restored when the run ends.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { parseDocument, type Block } from '../../runner/document.ts';
import { computeEdit } from '../../runner/yaml-merge.ts';
import { fence, runRunner, tempDir, type TempDir } from './helpers.ts';

const SPLIT_FILE = `# Apex Service: selects pods of both versions.
apiVersion: v1
kind: Service
metadata:
  name: server
spec:
  selector:
    app: server   # both versions
  ports:
    - name: grpc
      port: 50051
---
# Everything to v1 to start with.
apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata:
  name: server-split
spec:
  # the apex the client dials
  service: server
  backends:
    - service: server-v1
      weight: 100
`;

const ROUTE_FILE = `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: server-route # GAMMA route
spec:
  parentRefs:
    - name: server
      kind: Service
      group: core
      port: 50051
  rules:
    - backendRefs:
        - name: server-v1
          port: 50051
          weight: 100
`;

function stageBlock(body: string, file = 'deploy/split.yaml'): { block: Block; md: string } {
  const md = `# Shift\n\nSome prose.\n\n${fence(`yaml {file=${file}}`, body)}`;
  const doc = parseDocument(md, 'tutorial.md');
  return { block: doc.sections[0]!.blocks[0]!, md };
}

const edit = (body: string, current = SPLIT_FILE, file?: string) =>
  computeEdit({ file: 'tutorial.md', dir: '/nowhere' }, stageBlock(body, file).block, current);

describe('stage edit merge', () => {
  it('merges into the document of the same kind, keeps comments, leaves the rest byte for byte', () => {
    const e = edit('...\nkind: TrafficSplit\nspec:\n  backends:\n    - service: server-v1\n      weight: 95\n    - service: server-v2\n      weight: 5');
    const [service, split] = e.after.split('\n---\n');
    assert.equal(`${service}\n`, SPLIT_FILE.split('\n---\n')[0] + '\n');
    assert.match(split!, /^# Everything to v1 to start with\.$/m);
    assert.match(split!, /^  # the apex the client dials\n  service: server$/m);
    assert.match(split!, /- service: server-v1\n\s+weight: 95\n\s+- service: server-v2\n\s+weight: 5/);
    assert.deepEqual(e.split, {
      apex: 'server',
      name: 'server-split',
      kind: 'TrafficSplit',
      backends: [
        { service: 'server-v1', weight: 95 },
        { service: 'server-v2', weight: 5 },
      ],
    });
    assert.equal(e.before, SPLIT_FILE);
  });

  it('mappings merge, sequences replace', () => {
    const e = edit('kind: Service\nmetadata:\n  labels:\n    tier: demo\nspec:\n  ports:\n    - name: grpc-new\n      port: 50052');
    const service = e.after.split('\n---\n')[0]!;
    assert.match(service, /metadata:\n  name: server\n  labels:\n    tier: demo/);
    assert.match(service, /app: server\s+# both versions/);
    assert.doesNotMatch(service, /port: 50051/);
    assert.match(service, /port: 50052/);
    assert.equal(e.split, null);
  });

  it('GRPCRoute edits give a split too', () => {
    const e = edit(
      'spec:\n  rules:\n    - backendRefs:\n        - name: server-v1\n          port: 50051\n          weight: 30\n        - name: server-v2\n          port: 50051\n          weight: 70',
      ROUTE_FILE,
      'deploy/route.yaml',
    );
    assert.match(e.after, /name: server-route # GAMMA route/);
    assert.deepEqual(
      e.split?.backends.map((b) => [b.service, b.weight]),
      [
        ['server-v1', 30],
        ['server-v2', 70],
      ],
    );
  });

  it('rejects bad YAML, bad weights and ambiguous targets with FILE:LINE', () => {
    // The fence is on line 5 of the fixture document; its body starts on line 6.
    const cases: Array<[string, RegExp]> = [
      ['kind: TrafficSplit\nspec:\n  backends: [unclosed', /^tutorial\.md:\d+: bad YAML in the edit for deploy\/split\.yaml/],
      ['kind: TrafficSplit\nspec:\n  backends:\n    - service: server-v1\n      weight: -5', /^tutorial\.md:8: deploy\/split\.yaml: spec\.backends\[0\]\.weight must be a whole number >= 0, got -5/],
      ['kind: TrafficSplit\nspec:\n  backends:\n    - service: server-v1\n      weight: 2.5', /^tutorial\.md:8: .*whole number >= 0, got 2\.5/],
      ['kind: TrafficSplit\nspec:\n  backends:\n    - service: server-v1\n      weight: 0', /^tutorial\.md:8: .*all weights are zero/],
      ['kind: TrafficSplit\nspec:\n  backends:\n    - weight: 10', /^tutorial\.md:8: .*service must be a non-empty string/],
      ['spec:\n  backends: []', /^tutorial\.md:5: deploy\/split\.yaml holds several documents \(Service\/server, TrafficSplit\/server-split\): say which with kind:/],
      ['kind: Deployment\nspec: {}', /^tutorial\.md:5: deploy\/split\.yaml has no Deployment document/],
      ['- just\n- a list', /^tutorial\.md:5: the edit for deploy\/split\.yaml must be a YAML mapping/],
    ];
    for (const [body, message] of cases) {
      assert.throws(
        () => edit(body),
        (e: Error & { exitCode?: number }) => {
          assert.match(e.message, message, body);
          assert.equal(e.exitCode, 2);
          return true;
        },
        body,
      );
    }
    // A YAML error points at its own line inside the block.
    assert.throws(() => edit('kind: TrafficSplit\nspec:\n  service: [a\n  other: b'), { message: /^tutorial\.md:9: bad YAML/ });
    assert.throws(() => edit('kind: TrafficSplit', 'a: [broken\n'), { message: /^tutorial\.md:5: deploy\/split\.yaml:\d+ is not valid YAML before the edit/ });
  });
});

describe('stage edits in a run', () => {
  let t: TempDir;
  beforeEach(() => {
    t = tempDir();
    t.write('deploy/split.yaml', SPLIT_FILE);
  });
  afterEach(() => t.cleanup());

  const shift = (v1: number, v2: number) =>
    fence('yaml {file=deploy/split.yaml}', `...\nkind: TrafficSplit\nspec:\n  backends:\n    - service: server-v1\n      weight: ${v1}\n    - service: server-v2\n      weight: ${v2}`);
  const show = fence('sh', 'grep -E "weight|#" deploy/split.yaml | tr -s " " | tr "\\n" "|"; echo');

  it('later blocks see the change; the file is put back when the run ends', async () => {
    t.write('doc.md', ['# Five', shift(95, 5), show, '# Half', shift(50, 50), show].join('\n'));
    const r = await runRunner(['doc.md', '--yes'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^# Apex Service.*\| weight: 95\| weight: 5\|$/m);
    assert.match(r.stdout, /\| weight: 50\| weight: 50\|$/m);
    assert.match(r.stdout, /split server: server-v1=95 server-v2=5 \(95\/5\)/);
    assert.match(r.stdout, /restored 1 edited file\(s\): deploy\/split\.yaml/);
    assert.equal(t.read('deploy/split.yaml'), SPLIT_FILE);
  });

  it('the file is put back after a failure too, and kept with --keep-changes', async () => {
    t.write('doc.md', ['# Five', shift(95, 5), fence('sh', 'false')].join('\n'));
    const r = await runRunner(['doc.md', '--yes'], { cwd: t.dir });
    assert.equal(r.code, 1);
    assert.equal(t.read('deploy/split.yaml'), SPLIT_FILE);

    t.write('ok.md', ['# Five', shift(95, 5)].join('\n'));
    const k = await runRunner(['ok.md', '--yes', '--keep-changes'], { cwd: t.dir });
    assert.equal(k.code, 0, k.stderr);
    assert.match(t.read('deploy/split.yaml'), /weight: 95\n\s+- service: server-v2\n\s+weight: 5/);
    assert.match(t.read('deploy/split.yaml'), /# the apex the client dials/);
  });

  it('a bad edit anywhere in the document stops the run before anything runs, nothing written', async () => {
    const marker = fence('sh', 'touch ran-something');
    const bad = fence('yaml {file=deploy/split.yaml}', 'kind: TrafficSplit\nspec:\n  backends:\n    - service: server-v1\n      weight: 0');
    t.write('doc.md', ['# One', marker, shift(95, 5), '# Two', bad].join('\n'));
    const r = await runRunner(['doc.md', '--yes'], { cwd: t.dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^runner: doc\.md:\d+: deploy\/split\.yaml: split for server: all weights are zero$/m);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(t.read('deploy/split.yaml'), SPLIT_FILE);
    assert.throws(() => t.read('ran-something'));

    t.write('yaml.md', ['# One', fence('yaml {file=deploy/split.yaml}', 'kind: TrafficSplit\nspec: {backends: [}')].join('\n'));
    const y = await runRunner(['yaml.md', '--yes'], { cwd: t.dir });
    assert.equal(y.code, 2);
    assert.match(y.stderr, /^runner: yaml\.md:\d+: bad YAML in the edit for deploy\/split\.yaml/);
    assert.equal(t.read('deploy/split.yaml'), SPLIT_FILE);

    // --dry-run reports the same error.
    const d = await runRunner(['doc.md', '--dry-run'], { cwd: t.dir });
    assert.equal(d.code, 2);
    assert.match(d.stderr, /all weights are zero/);
  });

  it('an edit that only fails at run time (a block broke the file) fails the run, file untouched by it', async () => {
    t.write('doc.md', ['# One', fence('sh', 'echo "not: [yaml" > deploy/split.yaml'), shift(95, 5), fence('sh', 'echo not-reached')].join('\n'));
    const r = await runRunner(['doc.md', '--yes'], { cwd: t.dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /failed in section 1\. One at doc\.md:6\n\s+deploy\/split\.yaml:\d+ is not valid YAML before the edit/);
    assert.doesNotMatch(r.stdout, /^not-reached$/m);
    assert.equal(t.read('deploy/split.yaml'), 'not: [yaml\n');
  });
});
