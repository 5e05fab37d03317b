import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSummary, type Summary } from '../../lib/summary.ts';
import { formatVerdict, stageCheck } from '../../runner/observe/stage-check.ts';
import { linesSource } from '../../runner/observe/traffic-source.ts';

const t0 = Date.parse('2026-11-25T20:00:00.000Z');
const win = (sec: number, byVersion: Record<string, number>, errors: Record<string, number> = {}): Summary => {
  const ok = Object.values(byVersion).reduce((a, b) => a + b, 0);
  const nErr = Object.values(errors).reduce((a, b) => a + b, 0);
  return { ts: new Date(t0 + sec * 1000).toISOString(), intervalMs: 1000, total: ok + nErr, ok, errors, byVersion, byPod: {}, latencyMs: { p50: 1, p99: 2 } };
};
const stage = (allowErrors = false) => ({ label: '95/5', expected: new Map([['v1', 0.95], ['v2', 0.05]]), appliedAt: t0 + 500, allowErrors });

test('converges after k matching windows that ended after the apply', () => {
  const c = stageCheck(stage(), 3);
  assert.equal(c.feed(win(0, { v1: 950, v2: 50 })), undefined, 'before the apply: ignored');
  assert.equal(c.feed(win(1, { v1: 1000 })), undefined, 'all v1: out of bounds for 95/5 at n=1000');
  assert.equal(c.feed(win(2, { v1: 950, v2: 50 })), undefined);
  assert.equal(c.feed(win(3, { v1: 945, v2: 55 })), undefined);
  const v = c.feed(win(4, { v1: 955, v2: 45 }));
  assert.ok(v?.ok);
  assert.equal(v.n, 3000);
  assert.equal(v.convergedMs, 1500);
  assert.equal(formatVerdict(v), 'stage 95/5: observed 95/5 (n=3000), converged in 1.5 s, errors 0');
});

test('a failed call fails the stage unless errors are allowed', () => {
  const v = stageCheck(stage(), 3).feed(win(1, { v1: 190 }, { UNAVAILABLE: 2 }));
  assert.equal(v?.ok, false);
  assert.match(formatVerdict(v!), /FAILED.*errors 2 \(UNAVAILABLE=2\): 2 failed calls/);
  const allowed = stageCheck(stage(true), 1);
  assert.equal(allowed.feed(win(1, { v1: 190, v2: 10 }, { UNAVAILABLE: 2 })), undefined, 'began before the apply: errors only');
  assert.equal(allowed.feed(win(2, { v1: 190, v2: 10 }, { UNAVAILABLE: 2 }))?.ok, true);
});

test('a stale 100/0 sample cannot pass for 95/5: every version with a share must show up', () => {
  const c = stageCheck(stage(), 3, 100);
  for (let i = 2; i < 6; i++) assert.equal(c.feed(win(i, { v1: 40 })), undefined);
  const v = c.timeout(10_000);
  assert.match(v.reason!, /v2 got no calls in 120/);
  const c2 = stageCheck(stage(), 3, 100);
  c2.feed(win(2, { v1: 40 }));
  c2.feed(win(3, { v1: 38, v2: 2 }));
  assert.equal(c2.feed(win(4, { v1: 39, v2: 1 }))?.ok, true);
});

test('a split that never shows up times out naming expected and observed', () => {
  const c = stageCheck(stage(), 3);
  for (let i = 1; i < 10; i++) c.feed(win(i, { v1: 100, v2: 100 }));
  const v = c.timeout(30_000);
  assert.equal(v.ok, false);
  assert.equal(formatVerdict(v), 'stage 95/5: FAILED, expected 95/5, observed 50/50 (n=200), errors 0: did not converge within 30 s: v1 share 50.0% is outside 95.0% ± 6.2% for n=200');
});

test('recorded kubectl lines (text format, with prefixes) drive the same check', async () => {
  const lines = [
    'client: waiting for server:50051',
    ...[2, 3, 4].map((s) => `[pod/client-6d5f/client] ${formatSummary(win(s, { v1: 50, v2: 50 }), 'text')}`),
  ];
  const c = stageCheck({ ...stage(), label: '50/50', expected: new Map([['v1', 0.5], ['v2', 0.5]]) }, 3);
  const src = linesSource(lines);
  const verdict = await new Promise((resolve) => src.start((s) => { const v = c.feed(s); if (v) resolve(v); }));
  await src.stop();
  assert.equal(formatVerdict(verdict as never), 'stage 50/50: observed 50/50 (n=300), converged in 1.5 s, errors 0');
});
