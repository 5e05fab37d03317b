// The output the documents show as what a program prints must be output the program can
// print: every sample summary line in a shown block of tutorial.md and the READMEs parses
// with lib/summary.ts, is written back the same by formatSummary (which the client prints
// with), carries the fields the client's own summarize() fills, and adds up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { emptyInterval, record, summarize } from '../../apps/client/stats.ts';
import { formatSummary, parseSummaryLine } from '../../lib/summary.ts';
import { parseDocument } from '../../runner/document.ts';
import { ROOT } from '../runner/helpers.ts';

const DOCS = ['tutorial.md', 'README.md', 'apps/client/README.md'];
const LOOKS_LIKE_SUMMARY = /^summary |"byVersion"/;

test('every sample summary line in the documents is one the client can print', () => {
  const clientKeys = Object.keys(summarize(emptyInterval(), new Date(0), 2000, false)).sort();
  // The fields a line carries only when something failed or the client sends its header.
  const busy = emptyInterval(true);
  record(busy, { ok: false, status: 'UNAVAILABLE', version: 'v2', pod: 'server-v2-a', latencyMs: 1, header: true });
  const allKeys = new Set(Object.keys(summarize(busy, new Date(0), 2000, false)));
  let seen = 0;
  for (const doc of DOCS) {
    const parsed = parseDocument(readFileSync(path.join(ROOT, doc), 'utf8'), doc);
    for (const block of parsed.sections.flatMap((s) => s.blocks).filter((b) => b.kind === 'show')) {
      for (const [i, line] of block.text.split('\n').entries()) {
        if (!LOOKS_LIKE_SUMMARY.test(line)) continue;
        const where = `${doc}:${block.line + 1 + i}`;
        seen++;
        const s = parseSummaryLine(line);
        assert.ok(s, `${where}: does not parse as a summary line`);
        assert.equal(formatSummary(s, line.startsWith('{') ? 'json' : 'text'), line, `${where}: formatSummary writes it differently`);
        const keys = Object.keys(s).filter((k) => k !== 'final').sort();
        assert.deepEqual(keys.filter((k) => clientKeys.includes(k)), clientKeys, `${where}: lacks fields the client always prints`);
        assert.deepEqual(keys.filter((k) => !allKeys.has(k)), [], `${where}: fields the client never prints`);
        const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
        // (A line in the older format, before them, has failures without them.)
        if (s.errorsByVersion || s.errorsByPod) assert.ok(sum(s.errors) > 0, `${where}: failed by version or pod on a line where nothing failed`);
        if (s.errorsByVersion) assert.equal(sum(s.errorsByVersion), sum(s.errors), `${where}: failed by version does not add up to the errors`);
        if (s.errorsByPod) assert.equal(sum(s.errorsByPod), sum(s.errors), `${where}: failed by pod does not add up to the errors`);
        if (s.groups) {
          const { header, plain } = s.groups;
          assert.equal(header.total + plain.total, s.total, `${where}: the groups' totals do not add up`);
          assert.equal(header.ok + plain.ok, s.ok, `${where}: the groups' ok do not add up`);
          for (const v of Object.keys(s.byVersion)) assert.equal((header.byVersion[v] ?? 0) + (plain.byVersion[v] ?? 0), s.byVersion[v], `${where}: the groups' ${v} does not add up`);
        }
        assert.equal(sum(s.byVersion), s.ok, `${where}: calls by version do not add up to ok`);
        assert.equal(sum(s.byPod), s.ok, `${where}: calls by pod do not add up to ok`);
        assert.equal(s.total, s.ok + sum(s.errors), `${where}: total is not ok + errors`);
        for (const [v, n] of Object.entries(s.byVersion)) {
          const pods: Array<[string, number]> = Object.entries(s.byPod).filter(([p]) => p.startsWith(`server-${v}-`));
          assert.equal(pods.reduce((a: number, [, c]: [string, number]) => a + c, 0), n, `${where}: the server-${v} pods do not add up to ${v}=${n}`);
        }
      }
    }
  }
  assert.ok(seen >= 3, `found ${seen} sample lines; the documents show at least three`);
});

test('a sample the client could not print is caught', () => {
  const shown = '```text\nsummary 2026-11-25T20:30:02.000Z 2000ms total=40 ok=40 | v1=38 (95%) v2=2 (5%) | errors=0 | p50=1.2ms p99=3.4ms\n```\n';
  const block = parseDocument(`# S\n\n${shown}`, 'x.md').sections[0]!.blocks[0]!;
  assert.equal(parseSummaryLine(block.text), undefined, 'no pods field and one-decimal latencies: not a summary line');
});
