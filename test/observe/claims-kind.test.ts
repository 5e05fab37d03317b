// The tutorial's own claims on the kind target, against a stand-in kubectl (as in
// runner-checks.test.ts): the Demo section of tutorial.md runs with --target kind, its kubectl
// commands answered by a script on PATH that replays summary lines made here, stamped with
// the current time. `kubectl logs` of the pod client-direct replays the direct client's lines,
// any other `kubectl logs` the meshed client's; without -f it prints one line more per call,
// as a log that grows, which is what scripts/await-summaries.sh waits for. The same claims,
// sources, parser and checks run as they would against a cluster; the JUnit file of the run is
// read with a real XML parser and its counts compared with the plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { formatSummary, type Summary } from '../../lib/summary.ts';
import { readDocument } from '../../runner/document.ts';
import { documentClaims } from '../../runner/observe/claims.ts';
import { makePlan } from '../../runner/plan.ts';
import { projectFrontMatter, ROOT, startRunner, tempDir, testEnv } from '../runner/helpers.ts';

const FAKE_KUBECTL = `#!/usr/bin/env bash
# Stands in for kubectl: "logs" replays a feed with fresh timestamps (-f: while the process that
# started it lives, so a runner a test kills leaves nothing behind); the rest succeed.
[ "$1" = version ] && { echo 'Client Version: v1.35.0'; exit 0; }
[ "$1" = logs ] || exit 0
feed="$FAKE_MESHED"
case " $* " in *client-direct*) feed="$FAKE_DIRECT" ;; esac
stamp() { while IFS= read -r line; do echo "[pod/x/client] \${line//@TS@/$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)}"; done; }
case " $* " in
  *" -f "*) while kill -0 "$PPID" 2>/dev/null; do while IFS= read -r line; do printf '%s\\n' "$line" | stamp; sleep 0.1; done < "$feed"; done ;;
  *) n=$(( $(cat "$feed.count" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$feed.count"; head -n "$n" "$feed" | stamp ;;
esac
`;

/** The other tools the kind track calls: each answers its version question and succeeds. */
const STAND_INS: Record<string, string> = {
  kind: `#!/bin/sh\n[ "$1" = version ] && echo 'kind v0.33.0 go1.24.0 linux/amd64'\nexit 0\n`,
  docker: `#!/bin/sh\ncase "$*" in *CgroupVersion*) echo 2 ;; esac\nexit 0\n`,
  curl: `#!/bin/sh\n[ "$1" = --version ] && echo 'curl 8.0.0'\nexit 0\n`,
  linkerd: '#!/bin/sh\nexit 0\n',
};

function line(byPod: Record<string, number>, errors: Record<string, number> = {}, errorsByVersion?: Record<string, number>): string {
  const byVersion: Record<string, number> = {};
  for (const [p, n] of Object.entries(byPod)) byVersion[/^server-(v\d)-/.exec(p)![1]!] = (byVersion[/^server-(v\d)-/.exec(p)![1]!] ?? 0) + n;
  const ok = Object.values(byPod).reduce((a, b) => a + b, 0);
  const nErr = Object.values(errors).reduce((a, b) => a + b, 0);
  const s = { ts: '@TS@', intervalMs: 100, total: ok + nErr, ok, errors, byVersion, byPod, latencyMs: { p50: 1, p99: 2 } };
  // errorsByVersion: the field another change adds to the summary; json carries it through.
  return errorsByVersion ? JSON.stringify({ ...s, errorsByVersion }) : formatSummary(s, 'text');
}

const PINNED = line({ 'server-v2-5d8b-pqrst': 40 });
const MESHED = line({ 'server-v1-7c9f-abcde': 14, 'server-v1-7c9f-fghij': 13, 'server-v1-7c9f-klmno': 13 });
const SECTION = 'demo';

async function runDemo(direct: string, meshed: string, junit?: string, doc?: string, section = SECTION) {
  const t = tempDir();
  try {
    const bin = path.join(t.dir, 'bin');
    // --only brings up Prep first: every tool it calls is a stand-in, curl included, so no
    // block reaches for the network.
    const tools: Record<string, string> = { kubectl: FAKE_KUBECTL, ...STAND_INS };
    for (const [tool, script] of Object.entries(tools)) chmodSync(t.write(`bin/${tool}`, script), 0o755);
    const env = testEnv({
      PATH: `${bin}:${process.env.PATH}`,
      FAKE_DIRECT: t.write('direct.txt', `${Array(60).fill(direct).join('\n')}\n`),
      FAKE_MESHED: t.write('meshed.txt', `${Array(60).fill(meshed).join('\n')}\n`),
      AWAIT_TIMEOUT: '20',
    });
    const file = doc === undefined ? ['tutorial.md', '--only', section] : [t.write('doc.md', doc)];
    const args = [...file, '--target', 'kind', '--yes', '--verify-timeout', '6s', ...(junit ? ['--junit', path.join(t.dir, junit)] : [])];
    const r = startRunner(args, { cwd: doc === undefined ? ROOT : t.dir, env, timeoutMs: 90_000 });
    try {
      const out = await r.done;
      return { ...out, xml: junit ? readFileSync(path.join(t.dir, junit), 'utf8') : undefined };
    } finally {
      r.kill();
    }
  } finally {
    t.cleanup();
  }
}

interface XCase {
  '@_classname': string;
  '@_name': string;
  '@_time': string;
  skipped?: unknown;
  failure?: { '@_message': string };
  'system-out'?: string;
}

test('kind: the tutorial pins the direct client and spreads the meshed one; the JUnit file counts every block and check', { timeout: 120_000 }, async () => {
  const r = await runDemo(PINNED, MESHED, 'out/results.xml');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /✓ pinned: \d+ calls, all on server-v2-5d8b-pqrst \(1 of 6 pods\)/);
  assert.match(r.stdout, /✓ spread: server-v1 3 of 3 pods \(35\/33\/33 %\), no v2 \(n=\d+\)/);

  const xml = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testcase' }).parse(r.xml!);
  const suite = xml.testsuites.testsuite;
  const cases = suite.testcase as XCase[];
  // What the plan says: every non-shown block of Demo and its subsections, on kind or not,
  // and the claims; nothing is a failure.
  const doc = readDocument(path.join(ROOT, 'tutorial.md'));
  const plan = makePlan(doc, { target: 'kind', only: SECTION });
  const steps = plan.sections.flatMap((s) => s.steps).filter((s) => s.action !== 'show');
  const claims = plan.sections.flatMap((s) => documentClaims(doc).get(s.section) ?? []);
  assert.equal(claims.length, 2);
  assert.equal(cases.length, steps.length + claims.length);
  assert.equal(Number(suite['@_tests']), cases.length);
  assert.equal(Number(suite['@_failures']), 0);
  const skipped = cases.filter((c) => c.skipped !== undefined);
  assert.equal(skipped.length, steps.filter((s) => s.action === 'skip').length, 'the local blocks are skipped on kind');
  assert.equal(Number(suite['@_skipped']), skipped.length);
  const checks = cases.filter((c) => /^(pinned|spread) /.test(c['@_name']));
  assert.deepEqual(
    checks.map((c) => [c['@_classname'].replace(/^\d+\. /, ''), c['@_name'].replace(/:\d+$/, ':N')]),
    [
      ['Before the mesh: one connection, one pod', 'pinned tutorial.md:N'],
      ['The meshed client', 'spread tutorial.md:N'],
    ],
  );
  for (const c of checks) assert.match(c['system-out']!, /^(pinned|spread): /);
  for (const c of cases.filter((c) => c.skipped === undefined && !checks.includes(c))) {
    assert.match(c['@_name'], /^(run|background \S+|stage edit \S+) tutorial\.md:\d+$/);
    assert.ok(Number(c['@_time']) >= 0);
  }
});

test('kind: a "direct" client whose calls reach several pods fails pinned with exit 1', { timeout: 120_000 }, async () => {
  const r = await runDemo(line({ 'server-v1-7c9f-abcde': 20, 'server-v2-5d8b-pqrst': 20 }), MESHED, 'results.xml');
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /✗ pinned: FAILED, expected every call of the direct client on one pod, observed 2 of 6 pods \(server-v1-7c9f-abcde=\d+, server-v2-5d8b-pqrst=\d+\)/);
  const xml = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testcase' }).parse(r.xml!);
  const cases = xml.testsuites.testsuite.testcase as XCase[];
  const failed = cases.filter((c) => c.failure);
  assert.deepEqual(failed.map((c) => c['@_name'].replace(/:\d+$/, '')), ['pinned tutorial.md']);
  assert.match(failed[0]!.failure!['@_message'], /^pinned: FAILED/);
  assert.ok(cases.some((c) => /^spread /.test(c['@_name']) && c.skipped !== undefined), 'the claim never reached is a skipped testcase');
});

test('kind: a meshed client that already reaches v2 fails spread with exit 1', { timeout: 120_000 }, async () => {
  const r = await runDemo(PINNED, line({ 'server-v1-7c9f-abcde': 10, 'server-v1-7c9f-fghij': 10, 'server-v1-7c9f-klmno': 10, 'server-v2-5d8b-pqrst': 30 }));
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /✗ spread: FAILED, expected every pod of v1 gets calls, none starved, no v2, observed server-v1 3 of 3 pods \(33\/33\/33 %\), v2 30 calls \(n=60\): did not hold within 6 s: v2 got 30 calls, expected none/);
});

const MIXED = (errs: Record<string, number> = {}, by?: Record<string, number>) =>
  line({ 'server-v1-7c9f-abcde': 19, 'server-v2-5d8b-pqrst': 1 }, errs, by);
const claimDoc = (claims: string[]) => [projectFrontMatter() + '# Canary\n', ...claims.map((c) => `<!-- runner:expect ${c} -->\n`), '```sh {target=kind}\nkubectl get pods\n```\n'].join('\n');

test('kind: shares and errors claims hold, the errors read by version when the summaries carry it', { timeout: 60_000 }, async () => {
  const r = await runDemo(PINNED, MIXED({ UNAVAILABLE: 1 }, { v2: 1 }), undefined, claimDoc(['shares v1=95 v2=5', 'errors from=v2 rate=5%']));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /✓ shares 95\/5: observed 95\/5 \(n=\d+\)/);
  assert.match(r.stdout, /✓ errors: \d+ failed of \d+ calls \(4\.8%\): UNAVAILABLE=\d+, by version v2=\d+, expected failed calls only from v2 at 5\.0% ± /);
});

test('kind: false shares and errors claims fail with exit 1', { timeout: 90_000 }, async () => {
  const shares = await runDemo(PINNED, MIXED(), undefined, claimDoc(['shares v1=50 v2=50']));
  assert.equal(shares.code, 1, shares.stdout + shares.stderr);
  assert.match(shares.stdout, /✗ shares 50\/50: FAILED, expected 50\/50, observed 95\/5 \(n=\d+\)/);
  const none = await runDemo(PINNED, MIXED({ UNAVAILABLE: 1 }), undefined, claimDoc(['errors none']));
  assert.equal(none.code, 1, none.stdout + none.stderr);
  assert.match(none.stdout, /✗ errors: FAILED, expected no failed calls, observed 1 failed of 21 calls \(4\.8%\): UNAVAILABLE=1 \(not reported by version: only the total is checked\)/);
  const fromV1 = await runDemo(PINNED, MIXED({ UNAVAILABLE: 1 }, { v1: 1 }), undefined, claimDoc(['errors from=v2']));
  assert.equal(fromV1.code, 1, fromV1.stdout + fromV1.stderr);
  assert.match(fromV1.stdout, /✗ errors: FAILED, expected failed calls only from v2, observed .*by version v1=1: 1 from v1/);
});

// The tutorial's two lessons on kind, through kubectl logs: its own sections (--only brings up
// what they need, every tool a stand-in), with summary lines that hold their claims and with
// broken ones.
// Text lines, as the client prints them for kubectl logs (the watcher waits for "summary ").
const CANARY = (errV: string) =>
  formatSummary(
    {
      ...(JSON.parse(line({ 'server-v1-7c9f-abcde': 13, 'server-v1-7c9f-fghij': 13, 'server-v1-7c9f-klmno': 12, 'server-v2-6f4d-qwert': 1 }, { UNAVAILABLE: 1 }, { [errV]: 1 })) as Summary),
      errorsByPod: { [errV === 'v2' ? 'server-v2-6f4d-qwert' : 'server-v1-7c9f-abcde']: 1 },
    },
    'text',
  );

test('kind: the canary section sees 2.5 % failed calls from v2; from v1 it fails with exit 1', { timeout: 120_000 }, async () => {
  const good = await runDemo(PINNED, CANARY('v2'), undefined, undefined, 'when-the-canary-is-bad');
  assert.equal(good.code, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /✓ errors: \d+ failed of \d+ calls \(2\.5%\): UNAVAILABLE=\d+, by version v2=\d+, expected failed calls only from v2 at 2\.5% ± /);
  const bad = await runDemo(PINNED, CANARY('v1'), undefined, undefined, 'when-the-canary-is-bad');
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /✗ errors: FAILED, expected failed calls only from v2 at 2\.5%, observed 1 failed of 40 calls \(2\.5%\): UNAVAILABLE=1, by version v1=1: 1 from v1/);
});

/** A summary line with the client's two call groups (HEADER_SHARE on). */
function groupedLine(header: Record<string, number>, plain: Record<string, number>): string {
  const sum = (a: Record<string, number>) => Object.values(a).reduce((x, y) => x + y, 0);
  const byVersion: Record<string, number> = {};
  for (const g of [header, plain]) for (const [v, n] of Object.entries(g)) byVersion[v] = (byVersion[v] ?? 0) + n;
  const byPod = Object.fromEntries(Object.entries(byVersion).map(([v, n]) => [v === 'v1' ? 'server-v1-7c9f-abcde' : 'server-v2-5d8b-pqrst', n]));
  const total = sum(byVersion);
  return formatSummary(
    {
      ts: '@TS@', intervalMs: 100, total, ok: total, errors: {}, byVersion, byPod, latencyMs: { p50: 1, p99: 2 },
      groups: { header: { total: sum(header), ok: sum(header), byVersion: header }, plain: { total: sum(plain), ok: sum(plain), byVersion: plain } },
    },
    'text',
  );
}

test('kind: the header route sends every header call to v2 and the rest 95/5; header calls on v1 fail with exit 1', { timeout: 180_000 }, async () => {
  const good = await runDemo(PINNED, groupedLine({ v2: 8 }, { v1: 30, v2: 2 }), undefined, undefined, 'route-by-header');
  assert.equal(good.code, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /✓ shares group=header 0\/100: observed 0\/100 \(n=\d+\)/);
  assert.match(good.stdout, /✓ shares group=plain 95\/5: observed 93\.8\/6\.3 \(n=\d+\)/);
  const bad = await runDemo(PINNED, groupedLine({ v1: 8 }, { v1: 30, v2: 2 }), undefined, undefined, 'route-by-header');
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /✗ shares group=header 0\/100: FAILED, expected 0\/100, observed 100\/0 \(n=\d+\), errors 0: did not converge within 6 s: v1 got 8 calls, expected none/);
});
