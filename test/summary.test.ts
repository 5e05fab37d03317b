import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSummary, parseSummaryLine, type Summary } from '../lib/summary.ts';

const sample: Summary = {
  ts: '2026-11-25T20:30:02.000Z',
  intervalMs: 2000,
  total: 43,
  ok: 40,
  errors: { UNAVAILABLE: 2, DEADLINE_EXCEEDED: 1 },
  byVersion: { v1: 38, v2: 2 },
  byPod: { 'server-v1-a': 20, 'server-v1-b': 18, 'server-v2-a': 2 },
  latencyMs: { p50: 1.25, p99: 3.5 },
};

test('a json line reads back the same', () => {
  assert.deepEqual(parseSummaryLine(formatSummary(sample, 'json')), sample);
  assert.deepEqual(parseSummaryLine(formatSummary({ ...sample, final: true }, 'json')), { ...sample, final: true });
});

test('a text line reads back the same', () => {
  const line = formatSummary(sample, 'text');
  assert.match(line, /v1=38 \(95\.0%\) v2=2 \(5\.0%\)/);
  assert.deepEqual(parseSummaryLine(line), sample);
  const clean = { ...sample, total: 40, errors: {}, byVersion: {}, byPod: {}, ok: 0, final: true };
  assert.deepEqual(parseSummaryLine(formatSummary(clean, 'text')), clean);
});

test('kubectl prefixes are allowed; other lines are not summaries', () => {
  const line = `[pod/client-7c9/client] ${formatSummary(sample, 'json')}`;
  assert.deepEqual(parseSummaryLine(line), sample);
  assert.equal(parseSummaryLine('client: waiting for server:50051'), undefined);
  assert.equal(parseSummaryLine('{"ts": 1}'), undefined);
  assert.equal(parseSummaryLine('{broken'), undefined);
});

const withGroups: Summary = {
  ...sample,
  errorsByVersion: { v2: 2, unknown: 1 },
  errorsByPod: { 'server-v2-a': 2, unknown: 1 },
  groups: {
    header: { total: 5, ok: 3, byVersion: { v2: 3 }, errorsByVersion: { v2: 2 } },
    plain: { total: 38, ok: 37, byVersion: { v1: 37 }, errorsByVersion: { unknown: 1 } },
  },
};

test('errors by version and pod, and the header/plain groups, read back the same in both formats', () => {
  for (const s of [withGroups, { ...withGroups, final: true }, { ...withGroups, groups: undefined }, { ...withGroups, errorsByPod: undefined }]) {
    const clean = JSON.parse(JSON.stringify(s)) as Summary;
    assert.deepEqual(parseSummaryLine(formatSummary(clean, 'json')), clean);
    assert.deepEqual(parseSummaryLine(formatSummary(clean, 'text')), clean);
  }
  const line = formatSummary(withGroups, 'text');
  assert.match(line, / \| pods server-v1-a=20 server-v1-b=18 server-v2-a=2 \| failed by version unknown=1 v2=2 \| failed by pod server-v2-a=2 unknown=1 \| header total=5 ok=3 v2=3 failed v2=2 \| plain total=38 ok=37 v1=37 failed unknown=1$/);
  // A group with no successful call still reads back.
  const empty: Summary = { ...sample, groups: { header: { total: 0, ok: 0, byVersion: {} }, plain: { total: 43, ok: 40, byVersion: { v1: 38, v2: 2 } } } };
  assert.deepEqual(parseSummaryLine(formatSummary(empty, 'text')), empty);
});

test('lines of the older format (no failed-by, no groups) still parse, and carry none of the new fields', () => {
  const old = 'summary 2026-11-25T20:30:02.000Z 2000ms total=40 ok=39 | v1=37 (94.9%) v2=2 (5.1%) | errors=1 (UNAVAILABLE=1) | p50=1.20ms p99=3.40ms | pods server-v1-a=13 server-v1-b=12 server-v1-c=12 server-v2-a=2 final';
  const s = parseSummaryLine(old)!;
  assert.deepEqual(s.byPod, { 'server-v1-a': 13, 'server-v1-b': 12, 'server-v1-c': 12, 'server-v2-a': 2 });
  assert.equal(s.final, true);
  assert.equal('errorsByVersion' in s || 'groups' in s, false);
  const oldJson = '{"ts":"2026-11-25T20:30:02.000Z","intervalMs":2000,"total":40,"ok":39,"errors":{"UNAVAILABLE":1},"byVersion":{"v1":37,"v2":2},"byPod":{"server-v1-a":39},"latencyMs":{"p50":1.2,"p99":3.4}}';
  assert.equal(parseSummaryLine(oldJson)?.ok, 39);
  // A broken group is not a summary rather than half of one.
  assert.equal(parseSummaryLine(formatSummary(sample, 'json').replace(/}$/, ',"groups":{"header":{"total":"x"}}}')), undefined);
});
