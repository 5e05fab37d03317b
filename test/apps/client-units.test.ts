// The client's pure parts: percentiles, interval summaries, open-loop pacing (on a fake clock).
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { formatSummary, parseSummaryLine } from '../../lib/summary.ts';
import { carriesHeader } from '../../apps/client/client.ts';
import { openLoop } from '../../apps/client/schedule.ts';
import { emptyInterval, percentile, record, summarize } from '../../apps/client/stats.ts';

test('percentile: nearest rank', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([], 50), 0);
});

test('an interval becomes a Summary that reads back in both formats', () => {
  const iv = emptyInterval();
  record(iv, { ok: true, version: 'v1', pod: 'a', latencyMs: 1.234 });
  record(iv, { ok: true, version: 'v2', pod: 'b', latencyMs: 3.5 });
  record(iv, { ok: false, status: 'UNAVAILABLE', latencyMs: 0.5 });
  const s = summarize(iv, new Date('2026-01-01T00:00:00Z'), 1999.6, true);
  assert.deepEqual(s, {
    ts: '2026-01-01T00:00:00.000Z', intervalMs: 2000, total: 3, ok: 2, errors: { UNAVAILABLE: 1 },
    byVersion: { v1: 1, v2: 1 }, byPod: { a: 1, b: 1 }, latencyMs: { p50: 1.23, p99: 3.5 },
    errorsByVersion: { unknown: 1 }, errorsByPod: { unknown: 1 }, final: true,
  });
  for (const fmt of ['text', 'json'] as const) assert.deepEqual(parseSummaryLine(formatSummary(s, fmt)), s);
});

test('open loop: the rate holds by elapsed time, late timers catch up', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let clock = 0;
    let fired = 0;
    const pacer = openLoop(2000, () => void (fired += 1), () => clock);
    assert.equal(fired, 1, 'first call at once');
    // Timers that fire 3 ms late still yield 2 calls per ms on average.
    for (let t = 0; t < 1000; t += 3) {
      clock += 3;
      mock.timers.tick(3);
    }
    assert.ok(Math.abs(fired - 2003) <= 2, `fired ${fired} in ~1002 ms at 2000/s`);
    pacer.stop();
    const at = fired;
    clock += 100;
    mock.timers.tick(100);
    assert.equal(fired, at, 'nothing after stop');
  } finally {
    mock.timers.reset();
  }
});

test('failed calls are counted by the version and pod their trailers named (unknown without); header calls apart', () => {
  const iv = emptyInterval(true);
  record(iv, { ok: true, version: 'v2', pod: 'b', latencyMs: 1, header: true });
  record(iv, { ok: false, status: 'UNAVAILABLE', version: 'v2', pod: 'b', latencyMs: 1, header: true });
  record(iv, { ok: true, version: 'v1', pod: 'a', latencyMs: 1, header: false });
  record(iv, { ok: false, status: 'DEADLINE_EXCEEDED', latencyMs: 1, header: false });
  const s = summarize(iv, new Date('2026-01-01T00:00:00Z'), 2000, false);
  assert.deepEqual(s.errorsByVersion, { v2: 1, unknown: 1 });
  assert.deepEqual(s.errorsByPod, { b: 1, unknown: 1 });
  assert.deepEqual(s.groups, {
    header: { total: 2, ok: 1, byVersion: { v2: 1 }, errorsByVersion: { v2: 1 } },
    plain: { total: 2, ok: 1, byVersion: { v1: 1 }, errorsByVersion: { unknown: 1 } },
  });
  for (const fmt of ['text', 'json'] as const) assert.deepEqual(parseSummaryLine(formatSummary(s, fmt)), s);
  // Without failures or a header share, the line is the older format's.
  const clean = emptyInterval();
  record(clean, { ok: true, version: 'v1', pod: 'a', latencyMs: 1 });
  assert.deepEqual(Object.keys(summarize(clean, new Date(), 2000, false)), ['ts', 'intervalMs', 'total', 'ok', 'errors', 'byVersion', 'byPod', 'latencyMs']);
});

test('carriesHeader spreads the share evenly: floor(n * share) of the first n calls', () => {
  for (const share of [0, 0.05, 0.2, 1 / 3, 0.5, 1]) {
    let n = 0;
    for (let i = 0; i < 1000; i++) {
      if (carriesHeader(i, share)) n += 1;
      assert.equal(n, Math.floor((i + 1) * share), `share ${share} after ${i + 1} calls`);
    }
  }
});
