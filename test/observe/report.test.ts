import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Summary } from '../../lib/summary.ts';
import { renderReport, type RunRecord } from '../../runner/observe/report.ts';

const t0 = Date.parse('2026-11-25T20:00:00.000Z');
const sample = (sec: number, v1: number, v2: number, errors: Record<string, number> = {}): Summary => ({
  ts: new Date(t0 + sec * 1000).toISOString(),
  intervalMs: 1000,
  total: v1 + v2 + Object.values(errors).reduce((a, b) => a + b, 0),
  ok: v1 + v2,
  errors,
  byVersion: { v1, v2 },
  byPod: {},
  latencyMs: { p50: 1, p99: 2 + (sec % 3) },
});

function record(): RunRecord {
  const samples: Summary[] = [];
  for (let s = 1; s <= 30; s++) samples.push(s < 10 ? sample(s, 100, 0) : s < 20 ? sample(s, 95, 5, s === 15 ? { UNAVAILABLE: 1 } : {}) : sample(s, 50, 50));
  const verdict = (label: string, ok: boolean) => ({ label, ok, observedLabel: label, observed: {}, expected: {}, n: 300, convergedMs: 1200, errors: {}, ...(ok ? {} : { reason: 'did not converge' }) });
  return {
    document: 'tutorial.md',
    target: 'local',
    startedAt: t0,
    endedAt: t0 + 31_000,
    exitCode: 1,
    samples,
    stages: [
      { label: '95/5', section: 'Shift 5%', appliedAt: t0 + 9500, verdict: verdict('95/5', true) },
      { label: '50/50', section: 'Half & half <b>', appliedAt: t0 + 19_500, verdict: verdict('50/50', false) },
    ],
  };
}

test('the report is one self-contained file: no scripts, no external assets, text escaped', () => {
  const html = renderReport(record());
  assert.doesNotMatch(html, /<script|<link|src=|url\(/);
  assert.match(html, /Half &#38; half &#60;b&#62;/);
  assert.match(html, /<dd>failed \(exit 1\)<\/dd>/);
  assert.equal((html.match(/class="series" data-version/g) ?? []).length, 2);
});

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

test('headless Chromium renders the charts and the stage labels', { skip: chromium ? false : 'chromium is not installed (.ci/run installs it)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'report-'));
  try {
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReport(record()));
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`];
    const dom = execFileSync(chromium!, [...args, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
    assert.match(dom, /<svg id="share-chart"/);
    assert.match(dom, /<svg id="latency-chart"/);
    assert.match(dom, /<g class="stage pass">.*?<text[^>]*>95\/5<\/text>/s);
    assert.match(dom, /<g class="stage fail">.*?<text[^>]*>50\/50<\/text>/s);
    assert.match(dom, /<td class="stage-label">95\/5<\/td>/);
    execFileSync(chromium!, [...args, `--screenshot=${join(dir, 'shot.png')}`, '--window-size=900,900', `file://${file}`], { timeout: 60_000, stdio: 'ignore' });
    assert.ok(existsSync(join(dir, 'shot.png')), 'a screenshot was written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the report has a row per check with its verdict line, escaped', () => {
  const html = renderReport({
    ...record(),
    checks: [
      { section: 'Before the mesh', name: 'pinned', where: 'tutorial.md:257', ok: true, line: 'pinned: 47 calls, all on server-v1-64cb7 (1 of 6 pods)' },
      { section: 'The meshed <client>', name: 'spread', where: 'tutorial.md:304', ok: false, line: 'spread: FAILED, expected every pod of v1 gets calls & no v2' },
    ],
  });
  const table = /<table id="checks">.*?<\/table>/s.exec(html)?.[0] ?? '';
  assert.match(table, /<tr class="pass"><td>Before the mesh<\/td><td class="check-name">pinned<\/td><td>tutorial\.md:257<\/td><td>✓ pinned: 47 calls, all on server-v1-64cb7 \(1 of 6 pods\)<\/td><\/tr>/);
  assert.match(table, /<tr class="fail"><td>The meshed &#60;client&#62;<\/td><td class="check-name">spread<\/td><td>tutorial\.md:304<\/td><td>✗ spread: FAILED, expected every pod of v1 gets calls &#38; no v2<\/td><\/tr>/);
  assert.match(renderReport(record()), /No check was decided in this run\./);
});
