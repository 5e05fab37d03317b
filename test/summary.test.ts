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
