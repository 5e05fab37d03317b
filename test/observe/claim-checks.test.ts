// The claim checks on their own: summaries in, a verdict out, each kind passing on traffic
// that holds it and failing, with expected and observed named, on traffic that does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Summary } from '../../lib/summary.ts';
import { claimCheck, errorsByVersion, errorsCalls, groupSummary, pinnedCalls, starvationFloor, type CheckVerdict, type Fleet } from '../../runner/observe/claim-checks.ts';
import { parseClaim } from '../../runner/observe/claims.ts';

const fleet: Fleet = { deployments: [{ name: 'server-v1', version: 'v1', replicas: 3 }, { name: 'server-v2', version: 'v2', replicas: 3 }] };
const T0 = Date.parse('2026-12-01T10:00:00.000Z');

function win(i: number, byPod: Record<string, number>, errors: Record<string, number> = {}, extra: object = {}): Summary {
  const byVersion: Record<string, number> = {};
  for (const [p, n] of Object.entries(byPod)) {
    const v = /^server-(v\d+)-/.exec(p)![1]!;
    byVersion[v] = (byVersion[v] ?? 0) + n;
  }
  const ok = Object.values(byPod).reduce((a, b) => a + b, 0);
  const nErr = Object.values(errors).reduce((a, b) => a + b, 0);
  return { ts: new Date(T0 + (i + 1) * 1000).toISOString(), intervalMs: 1000, total: ok + nErr, ok, errors, byVersion, byPod, latencyMs: { p50: 1, p99: 2 }, ...extra };
}

function run(args: string, windows: Summary[], since = T0): CheckVerdict {
  const check = claimCheck(parseClaim(args, 'd.md', 1), { fleet, since, allowErrors: false });
  for (const w of windows) {
    const v = check.feed(w);
    if (v) return v;
  }
  return check.timeout(30_000);
}

const even = (i: number, n = 40) => win(i, { 'server-v1-a1': n / 4 + 1, 'server-v1-b2': n / 4, 'server-v1-c3': n / 2 - 1 });

test('derived bounds: pinned calls and the starvation floor', () => {
  assert.equal(pinnedCalls(6), 5, '6 * 6^-5 ... the first n with 6^(1-n) < 1/1000');
  assert.ok(6 ** (1 - pinnedCalls(6)) < 1e-3 && 6 ** (2 - pinnedCalls(6)) >= 1e-3);
  assert.equal(pinnedCalls(1), 1);
  assert.equal(starvationFloor(119, 3), 3);
  assert.equal(starvationFloor(1000, 3), 119);
  assert.equal(starvationFloor(10, 3), 1, 'never below one call');
});

test('pinned: every call on one pod passes, with the pod and how many there are', () => {
  const v = run('pinned client=direct', [win(0, { 'server-v2-7c9f-abcde': 40 }), win(1, { 'server-v2-7c9f-abcde': 60 })]);
  assert.equal(v.ok, true);
  assert.equal(v.line, 'pinned: 40 calls, all on server-v2-7c9f-abcde (1 of 6 pods)');
});

test('pinned: a second pod fails at once; too few calls fail at the timeout', () => {
  const two = run('pinned client=direct calls=100', [win(0, { 'server-v1-a': 20 }), win(1, { 'server-v1-a': 10, 'server-v2-b': 9 })]);
  assert.equal(two.ok, false);
  assert.equal(two.line, 'pinned: FAILED, expected every call of the direct client on one pod, observed 2 of 6 pods (server-v1-a=30, server-v2-b=9) (n=39)');
  const few = run('pinned client=direct', [win(0, { 'server-v1-a': 3 })]);
  assert.equal(few.ok, false);
  assert.match(few.line, /^pinned: FAILED, expected 5 calls of the direct client on one pod in 1 window, observed 3 calls in 1 windows \(all on server-v1-a\): not enough within 30 s$/);
  const early = run('pinned client=direct', [win(-5, { 'server-v1-a': 30 })], T0);
  assert.match(early.line, /observed 0 calls in 0 windows \(no successful call\)/, 'a window begun before the section does not count');
});

test('spread: every pod of the version, none starved, no other version', () => {
  const v = run('spread versions=v1', [even(0), even(1), even(2)]);
  assert.equal(v.ok, true, v.line);
  assert.equal(v.line, 'spread: server-v1 3 of 3 pods (48/28/25 %), no v2 (n=120)');
});

test('spread: calls to v2, a pod with no calls, a starved pod: each fails naming what it saw', () => {
  const withV2 = run('spread versions=v1', [0, 1, 2, 3].map((i) => win(i, { 'server-v1-a': 10, 'server-v1-b': 10, 'server-v1-c': 10, 'server-v2-d': 10 })));
  assert.equal(withV2.ok, false);
  assert.equal(withV2.line, 'spread: FAILED, expected every pod of v1 gets calls, none starved, no v2, observed server-v1 3 of 3 pods (33/33/33 %), v2 10 calls (n=40): did not hold within 30 s: v2 got 10 calls, expected none');
  const twoPods = run('spread versions=v1', [0, 1, 2, 3].map((i) => win(i, { 'server-v1-a': 20, 'server-v1-b': 20 })));
  assert.match(twoPods.line, /observed server-v1 2 of 3 pods \(50\/50 %\), no v2 \(n=120\): did not hold within 30 s: 1 of the 3 v1 pods got no calls$/);
  const starved = run('spread versions=v1', [0, 1, 2, 3, 4].map((i) => win(i, { 'server-v1-a': 50, 'server-v1-b': 49, 'server-v1-c': 1 })));
  assert.match(starved.line, /server-v1-c got 3 of 300 v1 calls, fewer than the 24 that half a fair share allows \(z=4\)$/);
  const both = run('spread versions=v1,v2', [0, 1, 2].map((i) => win(i, { 'server-v1-a': 10, 'server-v1-b': 10, 'server-v1-c': 10, 'server-v2-d': 10, 'server-v2-e': 10, 'server-v2-f': 10 })));
  assert.equal(both.line, 'spread: server-v1 3 of 3 pods (33/33/33 %), server-v2 3 of 3 pods (33/33/33 %) (n=180)');
});

test('errors none: a failed call fails; a clean run passes after enough calls', () => {
  assert.equal(run('errors none', [even(0), even(1), even(2)]).line, 'errors: none in 120 calls');
  const failed = run('errors none', [even(0), win(1, { 'server-v1-a': 39 }, { UNAVAILABLE: 1 })]);
  assert.equal(failed.ok, false);
  assert.equal(failed.line, 'errors: FAILED, expected no failed calls, observed 1 failed of 80 calls (1.3%): UNAVAILABLE=1 (not reported by version: only the total is checked)');
});

test('errors from=v2 at a rate: by version when the summary says, the total when it does not', () => {
  const canary = (i: number, errV: string, extra = true) =>
    win(i, { 'server-v1-a': 90, 'server-v2-b': 7 }, { UNAVAILABLE: 3 }, extra ? { errorsByVersion: { [errV]: { UNAVAILABLE: 3 } } } : {});
  const six = [0, 1, 2, 3, 4, 5];
  const ok = run('errors from=v2 rate=3%', six.map((i) => canary(i, 'v2')));
  assert.equal(ok.ok, true, ok.line);
  assert.equal(ok.line, 'errors: 18 failed of 600 calls (3.0%): UNAVAILABLE=18, by version v2=18, expected failed calls only from v2 at 3.0% ± 2.8%');
  const fromV1 = run('errors from=v2 rate=3%', [canary(0, 'v1')]);
  assert.equal(fromV1.ok, false);
  assert.match(fromV1.line, /^errors: FAILED, expected failed calls only from v2 at 3\.0%, observed 3 failed of 100 calls \(3\.0%\): UNAVAILABLE=3, by version v1=3: 3 from v1$/);
  const tooMany = run('errors from=v2 rate=0.5% calls=300', [0, 1, 2].map((i) => canary(i, 'v2')));
  assert.match(tooMany.line, /did not hold within 30 s: 3\.0% is outside 0\.5% ± 1\.6% for n=300$/);
  const unattributed = run('errors from=v2 rate=3%', six.map((i) => canary(i, 'v2', false)));
  assert.equal(unattributed.ok, true);
  assert.match(unattributed.line, /\(not reported by version: only the total is checked\)/);
  assert.deepEqual(errorsByVersion(canary(0, 'v2')), { v2: 3 });
  assert.deepEqual(errorsByVersion({ ...canary(0, 'v2', false), errorsByVersion: { v2: 4 } } as Summary), { v2: 4 });
  assert.equal(errorsByVersion(canary(0, 'v2', false)), undefined);
});

test('errors at a rate wait for the calls that make a run without failures fail: n > z² (1-p)/p', () => {
  assert.equal(errorsCalls(0.025), 625, '16 * 0.975 / 0.025 = 624, and one more');
  assert.equal(errorsCalls(0.03), 518);
  assert.equal(errorsCalls(0.5), 100, 'never fewer than 100');
  assert.equal(errorsCalls(undefined), 100);
  // A canary that does not fail at all: 0 % must not pass for 2.5 %, however long it runs.
  const healthy = (i: number) => win(i, { 'server-v1-a': 95, 'server-v2-b': 5 });
  const v = run('errors from=v2 rate=2.5%', Array.from({ length: 8 }, (_, i) => healthy(i)));
  assert.equal(v.ok, false);
  assert.match(v.line, /^errors: FAILED, expected failed calls only from v2 at 2\.5%, observed 0 failed of 800 calls \(0\.0%\).*: 0\.0% is outside 2\.5% ± 2\.2% for n=800$/);
  // 2.5 % from v2 over 700 calls passes; before 625 calls it waits.
  const bad = (i: number) => win(i, { 'server-v1-a': 95, 'server-v2-b': 2 }, { UNAVAILABLE: 3 }, { errorsByVersion: { v2: 3 } });
  const check = claimCheck(parseClaim('errors from=v2 rate=2.5%', 'd.md', 1), { fleet, since: T0, allowErrors: false });
  for (let i = 0; i < 6; i++) assert.equal(check.feed(bad(i)), undefined, `undecided after ${(i + 1) * 100} calls`);
  const passed = check.feed(bad(6));
  assert.equal(passed?.ok, true, passed?.line);
  assert.equal(passed?.n, 700);
});

test('group=: a claim judged on the calls of one group; summaries without groups pass unseen', () => {
  const grouped = (i: number, header: Record<string, number>, plain: Record<string, number>, headerFailed: Record<string, number> = {}) => {
    const nf = Object.values(headerFailed).reduce((a, b) => a + b, 0);
    const g = (byVersion: Record<string, number>, failed = 0, errorsByVersion?: Record<string, number>) => ({
      total: Object.values(byVersion).reduce((a, b) => a + b, 0) + failed,
      ok: Object.values(byVersion).reduce((a, b) => a + b, 0),
      byVersion,
      ...(errorsByVersion ? { errorsByVersion } : {}),
    });
    return win(i, { 'server-v1-a': plain.v1 ?? 0, 'server-v2-b': (plain.v2 ?? 0) + (header.v2 ?? 0) }, nf ? { UNAVAILABLE: nf } : {}, {
      groups: { header: g(header, nf, nf ? headerFailed : undefined), plain: g(plain) },
      ...(nf ? { errorsByVersion: headerFailed } : {}),
    });
  };
  const s = grouped(0, { v2: 10 }, { v1: 38, v2: 2 }, { v2: 1 });
  const h = groupSummary(s, 'header')!;
  assert.equal(h.total, 11);
  assert.deepEqual(h.errors, { failed: 1 });
  assert.deepEqual(h.errorsByVersion, { v2: 1 });
  assert.equal(h.groups, undefined);
  assert.deepEqual(groupSummary(s, 'plain')!.byVersion, { v1: 38, v2: 2 });
  assert.equal(groupSummary(even(0), 'plain'), undefined);

  // The failures of the header calls, from v2 only; the plain calls fail none.
  const windows = [even(0), ...[1, 2, 3].map((i) => grouped(i, { v2: 40 }, { v1: 60 }, { v2: 1 }))];
  const headerErrs = run('errors from=v2 group=header', windows);
  assert.equal(headerErrs.ok, true, headerErrs.line);
  assert.equal(headerErrs.name, 'errors group=header');
  assert.match(headerErrs.line, /^errors group=header: 3 failed of 123 calls/);
  const plainNone = run('errors none group=plain', windows);
  assert.equal(plainNone.ok, true, plainNone.line);
  assert.equal(plainNone.line, 'errors group=plain: none in 180 calls');
  const headerNone = run('errors none group=header', windows);
  assert.equal(headerNone.ok, false);
  assert.match(headerNone.line, /^errors group=header: FAILED, expected no failed calls, observed 1 failed of 41 calls/);
  // No summary with groups at all: the timeout says what is missing.
  const none = run('errors none group=plain', [even(0), even(1), even(2)]);
  assert.equal(none.ok, false);
  assert.match(none.line, /^errors group=plain: FAILED, .*\(no summary line counted calls by group: is the client's HEADER_SHARE above 0\?\)$/);
});
