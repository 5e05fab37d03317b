// The front matter: what a document declares about its targets and the traffic to follow,
// validated before anything runs (FILE:LINE, exit 2); a document without it has one target.
// And a second, made-up traffic tutorial (targets laptop and cloud, its own follow command,
// manifests and names) that the runner runs unchanged, its stage checked against its traffic.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from '../../runner/document.ts';
import { DocumentError } from '../../runner/errors.ts';
import { fence, runRunner, tempDir, testEnv, versionManifests } from './helpers.ts';

const front = (yaml: string) => `---\n${yaml.replace(/\n$/, '')}\n---\n`;

const rejects = (md: string, line: number, re: RegExp) =>
  assert.throws(
    () => parseDocument(md, 'doc.md', '/docs'),
    (e: unknown) => e instanceof DocumentError && e.line === line && re.test(e.detail) && e.message.startsWith(`doc.md:${line}: front matter: `),
  );

describe('front matter', () => {
  it('declares targets (the first is the default), follow commands, retry, verify timeouts and manifests', () => {
    const doc = parseDocument(
      front(`targets:
  laptop:
    verify-timeout: 5s
    traffic: {follow: exec tail -f client.log}
    direct: blocks
  cloud:
    traffic: {follow: exec cloudctl logs web, retry: 3s}
    direct: {follow: exec cloudctl logs web-direct}
manifests: k8s`) + '# One\n' + fence('sh {target=cloud}', 'true'),
      'doc.md',
      '/docs',
    );
    assert.deepEqual(doc.config, {
      targets: [
        { name: 'laptop', verifyTimeoutMs: 5000, traffic: { follow: 'exec tail -f client.log', retryMs: 1000 }, direct: 'blocks' },
        { name: 'cloud', traffic: { follow: 'exec cloudctl logs web', retryMs: 3000 }, direct: { follow: 'exec cloudctl logs web-direct', retryMs: 1000 } },
      ],
      defaultTarget: 'laptop',
      manifests: path.resolve('/docs', 'k8s'),
    });
    assert.equal(doc.sections[0]!.line, 12, 'line numbers count the front matter');
    assert.equal(doc.sections[0]!.blocks[0]!.target, 'cloud');
  });

  it('default-target picks another; a target needs no settings', () => {
    const doc = parseDocument(front('targets:\n  a:\n  b: {}\ndefault-target: b'), 'doc.md');
    assert.deepEqual(doc.config.targets, [{ name: 'a' }, { name: 'b' }]);
    assert.equal(doc.config.defaultTarget, 'b');
  });

  it('without front matter: one target, default, no traffic; other targets are errors at their line', () => {
    const doc = parseDocument('# One\n' + fence('sh {target=default}', 'true'), 'doc.md');
    assert.deepEqual(doc.config, { targets: [{ name: 'default' }], defaultTarget: 'default', manifests: null });
    assert.throws(
      () => parseDocument('# One\n\n' + fence('sh {target=kind}', 'true'), 'doc.md'),
      /^DocumentError: doc\.md:3: target must be default, got "kind" \(a document without front matter has one target/,
    );
    assert.throws(() => parseDocument(front('targets: {a: }') + fence('sh {target=b}', 'true'), 'doc.md'), /doc\.md:4: target must be a, got "b"$/);
  });

  it('unknown keys and bad values are FILE:LINE errors', () => {
    rejects(front('targets: {a: }\nmanifest: deploy'), 3, /unknown key "manifest" \(known: targets, default-target, manifests\)/);
    rejects(front('targets:\n  a:\n    trafic: {follow: x}'), 4, /unknown key "trafic" in target a \(known: verify-timeout, traffic, direct\)/);
    rejects(front('targets:\n  a:\n    traffic: {follow: x, every: 1s}\nmanifests: m'), 4, /unknown key "every" in a\.traffic \(known: follow, retry\)/);
    rejects(front('targets:\n  a:\n    verify-timeout: soon'), 4, /a\.verify-timeout must be a duration like 30s/);
    rejects(front('targets:\n  a:\n    traffic: {retry: 2s}\nmanifests: m'), 4, /a\.traffic needs follow: COMMAND/);
    rejects(front('targets:\n  a:\n    traffic: kubectl logs\nmanifests: m'), 4, /a\.traffic must be a mapping with follow: COMMAND/);
    rejects(front('targets:\n  a:\n    direct: pods\nmanifests: m'), 4, /a\.direct must be blocks .* or a mapping/);
    rejects(front('targets:\n  Local:'), 3, /target name must be lower-case letters, digits and -, got "Local"/);
    rejects(front('targets: {a: }\ndefault-target: b'), 3, /default-target "b" is not one of the targets \(a\)/);
    rejects(front('default-target: a'), 2, /needs targets:/);
    rejects(front('targets: {}'), 2, /targets must map each target name/);
    rejects(front('targets:\n  a:\n    traffic: {follow: x}'), 2, /target a follows traffic, so manifests: .* is needed/);
    rejects(front('- a'), 2, /must be a mapping/);
    rejects(front('targets: {a: }\ntargets: {b: }'), 3, /unique/i);
  });

  it('the runner says so before anything runs: one line, exit 2; --target must name a declared target', async () => {
    const t = tempDir();
    try {
      t.write('doc.md', front('targets:\n  a:\n    trafic: {}') + '# One\n' + fence('sh', 'touch ran'));
      const r = await runRunner(['doc.md', '-y'], { cwd: t.dir, env: testEnv() });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, 'runner: doc.md:4: front matter: unknown key "trafic" in target a (known: verify-timeout, traffic, direct)\n');
      assert.equal(existsSync(path.join(t.dir, 'ran')), false);
      t.write('doc.md', front('targets: {a: , b: }') + '# One\n' + fence('sh', 'touch ran'));
      const bad = await runRunner(['doc.md', '--list', '--target', 'c'], { cwd: t.dir, env: testEnv() });
      assert.equal(bad.code, 2);
      assert.equal(bad.stderr, 'runner: --target must be a or b, got "c"\n');
    } finally {
      t.cleanup();
    }
  });
});

const SPLIT = `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: {name: shop-split}
spec:
  service: shop
  backends:
    - service: shop-v1
      weight: 100
    - service: shop-v2
      weight: 0
`;

// Summary lines as the client prints them, one window a second, starting after the block starts.
const EMIT = `node -e '
const [v1, v2] = process.argv.slice(1).map(Number);
for (let i = 1; i <= 4; i++) console.log(JSON.stringify({ ts: new Date(Date.now() + (i + 1) * 1000).toISOString(), intervalMs: 1000, total: v1 + v2, ok: v1 + v2, errors: {}, byVersion: { v1, v2 }, byPod: {}, latencyMs: { p50: 1, p99: 2 } }));
'`;

describe('another traffic tutorial, run unchanged', () => {
  const doc = (v1: number, v2: number) =>
    front(`targets:
  laptop:
    verify-timeout: 8s
    traffic: {follow: 'test -f shop.log && exec tail -n +1 -f shop.log', retry: 200ms}
  cloud:
    traffic: {follow: exec cloudctl logs -f shop}
manifests: k8s`) +
    '# Shift to v2\n' +
    fence('yaml {file=k8s/split.yaml}', `spec:\n  backends:\n    - service: shop-v1\n      weight: 50\n    - service: shop-v2\n      weight: 50`) +
    fence('sh {target=laptop}', `${EMIT} ${v1} ${v2} >> shop.log`) +
    fence('sh {target=cloud}', 'cloudctl apply -f k8s/split.yaml');

  for (const [v1, v2, code, verdict] of [
    [50, 50, 0, /✓ stage 50\/50: observed 50\/50/],
    [100, 0, 1, /✗ stage 50\/50: FAILED/],
  ] as const) {
    it(`its own target, follow command and manifests: ${v1}/${v2} traffic against a 50/50 stage exits ${code}`, { timeout: 60_000 }, async () => {
      const t = tempDir();
      try {
        t.write('k8s/shop.yaml', versionManifests('shop', 'v1') + '---\n' + versionManifests('shop', 'v2'));
        t.write('k8s/split.yaml', SPLIT);
        t.write('shop.md', doc(v1, v2));
        const r = await runRunner(['shop.md', '-y'], { cwd: t.dir, env: testEnv() });
        assert.equal(r.code, code, r.stdout + r.stderr);
        assert.match(r.stdout, /… checking stage 50\/50 \(shop\.md:11\)/);
        assert.match(r.stdout + r.stderr, verdict);
        assert.match(r.stdout, /^shop\.md:19\n\$ node -e/m, 'the laptop block ran');
        assert.doesNotMatch(r.stdout, /cloudctl apply/, 'the cloud block did not');
        assert.equal(t.read('k8s/split.yaml'), SPLIT, 'the stage edit is put back');
      } finally {
        t.cleanup();
      }
    });
  }
});
