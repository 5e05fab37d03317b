// The stage checks inside real runs. The kind path reads `kubectl logs -f`: here a stand-in
// kubectl on PATH replays summary lines (made by this test, stamped with the current time),
// so the same source, parser and check run as they would against a cluster. The local path
// runs the real proxy, told a different split than the document's stage edit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatSummary } from '../../lib/summary.ts';
import { fence, projectFrontMatter, ROOT, startRunner, tempDir, testEnv, trafficSplit } from '../runner/helpers.ts';

const FAKE_KUBECTL = `#!/usr/bin/env bash
# Stands in for kubectl: "logs" replays $FAKE_LINES with fresh timestamps for as long as the
# process that started it lives (a runner killed by a test must not leave it behind); the rest succeed.
[ "$1" = logs ] || exit 0
while kill -0 "$PPID" 2>/dev/null; do
  while IFS= read -r line; do
    echo "[pod/client-6d5f-x/client] \${line//@TS@/$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)}"
    sleep 0.1
  done < "$FAKE_LINES"
done
`;

function line(v1: number, v2: number, errors: Record<string, number> = {}): string {
  const nErr = Object.values(errors).reduce((a, b) => a + b, 0);
  return formatSummary(
    { ts: '@TS@', intervalMs: 100, total: v1 + v2 + nErr, ok: v1 + v2, errors, byVersion: { v1, v2 }, byPod: { 'server-v1-a': v1, 'server-v2-a': v2 }, latencyMs: { p50: 1, p99: 2 } },
    'text',
  );
}

const SPLIT_100 = trafficSplit({ v1: 100 });
const STAGE_95_5 = '...\nkind: TrafficSplit\nspec:\n  backends:\n    - service: server-v1\n      weight: 95\n    - service: server-v2\n      weight: 5\n';

function kindDoc(allowErrors = false): string {
  return [projectFrontMatter() + '# Kind check\n', fence('yaml {file=split.yaml}', STAGE_95_5), fence(`sh {target=kind${allowErrors ? ' allow-errors=true' : ''}}`, 'kubectl apply -f split.yaml')].join('\n');
}

async function runKind(lines: string[], opts: { allowErrors?: boolean; report?: boolean } = {}) {
  const t = tempDir();
  try {
    t.write('doc.md', kindDoc(opts.allowErrors));
    t.write('split.yaml', SPLIT_100);
    const kubectl = t.write('bin/kubectl', FAKE_KUBECTL);
    chmodSync(kubectl, 0o755);
    const feed = t.write('lines.txt', lines.join('\n') + '\n');
    const env = testEnv({ PATH: `${path.dirname(kubectl)}:${process.env.PATH}`, FAKE_LINES: feed });
    const args = ['doc.md', '--target', 'kind', '--yes', '--verify-timeout', '8s', ...(opts.report ? ['--report', 'out/report.html'] : [])];
    const r = startRunner(args, { cwd: t.dir, env, timeoutMs: 40_000 });
    try {
      const out = await r.done;
      const report = opts.report && existsSync(path.join(t.dir, 'out/report.html')) ? readFileSync(path.join(t.dir, 'out/report.html'), 'utf8') : undefined;
      return { ...out, report, split: t.read('split.yaml') };
    } finally {
      r.kill();
    }
  } finally {
    t.cleanup();
  }
}

test('kind: traffic that matches the stage converges, read through kubectl logs', { timeout: 60_000 }, async () => {
  const lines = Array.from({ length: 20 }, (_, i) => (i % 4 === 0 ? line(37, 3) : line(38, 2)));
  const r = await runKind(lines, { report: true });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /✓ stage 95\/5: observed 9\d(\.\d)?\/\d(\.\d)? \(n=\d+\), converged in \d+\.\d s, errors 0/);
  assert.equal(r.split, SPLIT_100, 'the edited file is put back');
  assert.match(r.report!, /<td class="stage-label">95\/5<\/td>/);
});

test('kind: traffic that does not match fails the run, naming expected and observed', { timeout: 60_000 }, async () => {
  const r = await runKind([line(20, 20)]);
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /stage 95\/5: FAILED, expected 95\/5, observed 50\/50 \(n=\d+\).*did not converge within 8 s/);
});

test('kind: a failed call fails the stage unless the block allows errors', { timeout: 90_000 }, async () => {
  const lines = [line(38, 2), line(37, 2, { UNAVAILABLE: 1 }), line(38, 2)];
  const failed = await runKind(lines);
  assert.equal(failed.code, 1);
  assert.match(failed.stdout + failed.stderr, /stage 95\/5: FAILED.*errors \d+ \(UNAVAILABLE=\d+\)/);
  const allowed = await runKind(lines, { allowErrors: true });
  assert.equal(allowed.code, 0, allowed.stdout + allowed.stderr);
  assert.match(allowed.stdout, /✓ stage 95\/5: .*errors \d+ \(UNAVAILABLE=\d+\)/);
});

test('kind: a check cut short by Ctrl-C says it was not checked (interrupted), not FAILED', { timeout: 60_000 }, async () => {
  const t = tempDir();
  try {
    t.write('doc.md', kindDoc());
    t.write('split.yaml', SPLIT_100);
    const kubectl = t.write('bin/kubectl', FAKE_KUBECTL);
    chmodSync(kubectl, 0o755);
    // 50/50 against a 95/5 stage: the check waits (it would fail only at the timeout).
    const feed = t.write('lines.txt', line(20, 20) + '\n');
    const env = testEnv({ PATH: `${path.dirname(kubectl)}:${process.env.PATH}`, FAKE_LINES: feed });
    const r = startRunner(['doc.md', '--target', 'kind', '--yes', '--verify-timeout', '30s', '--report', 'out/report.html'], { cwd: t.dir, env, timeoutMs: 40_000 });
    try {
      await r.waitFor(/\$ kubectl apply -f split\.yaml\n(.*\n)*✓ \d+\.\ds\n/);
      await new Promise((res) => setTimeout(res, 1000));
      process.kill(r.pid, 'SIGINT');
      const out = await r.done;
      assert.equal(out.code, 130, out.stdout + out.stderr);
      assert.match(out.stderr, /^stage 95\/5 in section Kind check not checked: interrupted$/m);
      assert.doesNotMatch(out.stdout + out.stderr, /FAILED|✗/);
      const report = readFileSync(path.join(t.dir, 'out/report.html'), 'utf8');
      assert.match(report, /<td class="stage-label">95\/5<\/td>.*<td>not checked<\/td>/s);
      assert.doesNotMatch(report, /class="(stage )?fail"/);
      assert.equal(t.read('split.yaml'), SPLIT_100, 'the edited file is put back');
    } finally {
      r.kill();
    }
  } finally {
    t.cleanup();
  }
});

test('local: the proxy given another split than the stage says fails the run with exit 1', { timeout: 120_000 }, async () => {
  const t = tempDir();
  const LM = `node ${path.join(ROOT, 'scripts', 'local-mesh.mjs')}`;
  try {
    t.write('split.yaml', SPLIT_100);
    t.write('other.yaml', SPLIT_100.replace('server-v1', 'server-v2'));
    t.write(
      'doc.md',
      [
        projectFrontMatter() + '# Local check\n',
        fence('sh', `${LM} up`),
        fence('yaml {file=split.yaml}', STAGE_95_5),
        fence('sh', `${LM} apply -f other.yaml`),
        // Its own section, as in the tutorial: the check at the end of the first one needs
        // the client still sending; the failed run then still stops everything.
        '# Cleanup\n',
        fence('sh {always=true}', `${LM} down`),
      ].join('\n'),
    );
    const env = testEnv({ LOCAL_MESH_DIR: path.join(t.dir, 'state') });
    const r = startRunner(['doc.md', '--yes', '--verify-timeout', '10s'], { cwd: t.dir, env, timeoutMs: 100_000 });
    try {
      const out = await r.done;
      assert.equal(out.code, 1, out.stdout + out.stderr);
      assert.match(out.stdout + out.stderr, /stage 95\/5: FAILED, expected 95\/5, observed 0\/100 \(n=\d+\)/);
      assert.match(out.stdout, /stopped 8 processes/, 'the always block stopped everything');
      assert.equal(t.read('split.yaml'), SPLIT_100);
    } finally {
      r.kill();
    }
  } finally {
    t.cleanup();
  }
});
