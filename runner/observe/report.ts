// The run report: one self-contained HTML file (inline SVG and CSS, no scripts, no external
// assets) with the share per version over time, stage changes marked, errors and p99 over
// time, each stage's verdict, a row per check (stage and traffic claims) with its verdict
// line, and the run's metadata. Pure: a record in, a string out.

import { errorCount, type Summary } from '../../lib/summary.ts';
import type { StageVerdict } from './stage-check.ts';

export interface ReportStage {
  label: string;
  section: string;
  appliedAt: number;
  verdict?: StageVerdict;
}

/** A decided check: a stage's shares or a traffic claim (pinned, spread, shares, errors). */
export interface ReportCheck {
  section: string;
  /** e.g. "pinned", "stage 95/5" */
  name: string;
  /** FILE:LINE of the claim or the stage edit */
  where: string;
  ok: boolean;
  /** the verdict line the run printed */
  line: string;
}

export interface RunRecord {
  document: string;
  target: string;
  startedAt: number;
  endedAt: number;
  exitCode: number;
  samples: Summary[];
  stages: ReportStage[];
  checks?: readonly ReportCheck[];
}

const COLORS = ['#2563eb', '#f97316', '#16a34a', '#9333ea', '#dc2626', '#0891b2'];
const W = 860;
const H = 220;
const PAD = { l: 64, r: 16, t: 14, b: 28 };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function versionsOf(samples: Summary[]): string[] {
  return [...new Set(samples.flatMap((s) => Object.keys(s.byVersion)))].sort();
}

interface Axis {
  t0: number;
  t1: number;
  x(t: number): number;
}

function axis(rec: RunRecord): Axis {
  const times = rec.samples.map((s) => Date.parse(s.ts));
  const t0 = Math.min(rec.startedAt, ...times);
  const t1 = Math.max(rec.endedAt, ...times, t0 + 1);
  return { t0, t1, x: (t) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r) };
}

function frame(a: Axis, yLabel: string, yTicks: Array<[number, string]>, y: (v: number) => number): string {
  const ticks = yTicks.map(([v, l]) => `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${PAD.l - 6}" y="${y(v) + 4}" text-anchor="end">${esc(l)}</text>`).join('');
  const secs = (a.t1 - a.t0) / 1000;
  const step = secs > 600 ? 120 : secs > 120 ? 30 : secs > 30 ? 10 : 2;
  const xt: string[] = [];
  for (let s = 0; s <= secs; s += step) xt.push(`<text x="${a.x(a.t0 + s * 1000)}" y="${H - 8}" text-anchor="middle">${s}s</text>`);
  return `${ticks}${xt.join('')}<text x="12" y="${PAD.t + (H - PAD.t - PAD.b) / 2}" transform="rotate(-90 12 ${PAD.t + (H - PAD.t - PAD.b) / 2})" text-anchor="middle">${esc(yLabel)}</text>`;
}

function stageMarks(rec: RunRecord, a: Axis): string {
  return rec.stages
    .map((s) => {
      const x = a.x(s.appliedAt);
      const cls = s.verdict ? (s.verdict.ok ? 'pass' : 'fail') : '';
      return `<g class="stage ${cls}"><line x1="${x}" x2="${x}" y1="${PAD.t}" y2="${H - PAD.b}"/><text x="${x + 4}" y="${PAD.t + 10}">${esc(s.label)}</text></g>`;
    })
    .join('');
}

function shareChart(rec: RunRecord, versions: string[], a: Axis): string {
  const y = (v: number) => PAD.t + (1 - v) * (H - PAD.t - PAD.b);
  const lines = versions.map((v, i) => {
    const pts = rec.samples.filter((s) => s.ok > 0).map((s) => `${a.x(Date.parse(s.ts)).toFixed(1)},${y((s.byVersion[v] ?? 0) / s.ok).toFixed(1)}`);
    return `<polyline class="series" data-version="${esc(v)}" points="${pts.join(' ')}" stroke="${COLORS[i % COLORS.length]}"/>`;
  });
  const ticks: Array<[number, string]> = [[0, '0%'], [0.25, '25%'], [0.5, '50%'], [0.75, '75%'], [1, '100%']];
  return svg('share-chart', 'Share of calls per version', frame(a, 'share', ticks, y) + lines.join('') + stageMarks(rec, a));
}

function errorLatencyChart(rec: RunRecord, a: Axis): string {
  const maxP99 = Math.max(1, ...rec.samples.map((s) => s.latencyMs.p99));
  const maxErr = Math.max(1, ...rec.samples.map((s) => errorCount(s)));
  const yl = (v: number) => PAD.t + (1 - v / maxP99) * (H - PAD.t - PAD.b);
  const ye = (v: number) => PAD.t + (1 - v / maxErr) * (H - PAD.t - PAD.b);
  const p99 = rec.samples.map((s) => `${a.x(Date.parse(s.ts)).toFixed(1)},${yl(s.latencyMs.p99).toFixed(1)}`).join(' ');
  const bars = rec.samples
    .filter((s) => errorCount(s) > 0)
    .map((s) => `<rect class="err" x="${a.x(Date.parse(s.ts)) - 3}" y="${ye(errorCount(s))}" width="6" height="${H - PAD.b - ye(errorCount(s))}"><title>${errorCount(s)} errors</title></rect>`)
    .join('');
  const ticks: Array<[number, string]> = [0, 0.5, 1].map((f) => [f * maxP99, `${(f * maxP99).toFixed(1)}ms`]);
  return svg('latency-chart', `p99 latency (line) and failed calls (bars, max ${maxErr})`, frame(a, 'p99', ticks, yl) + bars + `<polyline class="series" points="${p99}" stroke="#64748b"/>` + stageMarks(rec, a));
}

function svg(id: string, title: string, body: string): string {
  return `<figure><figcaption>${esc(title)}</figcaption><svg id="${id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${body}</svg></figure>`;
}

function legend(versions: string[]): string {
  return `<p class="legend">${versions.map((v, i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(v)}</span>`).join('')}</p>`;
}

function verdicts(rec: RunRecord): string {
  if (rec.stages.length === 0) return '<p>No stage changed a split in this run.</p>';
  const rows = rec.stages.map((s) => {
    const v = s.verdict;
    const state = !v ? 'not checked' : v.ok ? 'converged' : 'FAILED';
    const nErr = v ? errorCount(v) : 0;
    return `<tr class="${v ? (v.ok ? 'pass' : 'fail') : ''}"><td>${esc(s.section)}</td><td class="stage-label">${esc(s.label)}</td><td>${v ? esc(v.observedLabel) : '-'}</td><td>${v?.n ?? '-'}</td><td>${v?.convergedMs !== undefined ? `${(v.convergedMs / 1000).toFixed(1)} s` : '-'}</td><td>${nErr}</td><td>${state}${v?.reason ? `: ${esc(v.reason)}` : ''}</td></tr>`;
  });
  return `<table id="verdicts"><thead><tr><th>section</th><th>expected</th><th>observed</th><th>n</th><th>converged</th><th>errors</th><th>verdict</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function checkRows(rec: RunRecord): string {
  const checks = rec.checks ?? [];
  if (checks.length === 0) return '<p>No check was decided in this run.</p>';
  const rows = checks.map(
    (c) => `<tr class="${c.ok ? 'pass' : 'fail'}"><td>${esc(c.section)}</td><td class="check-name">${esc(c.name)}</td><td>${esc(c.where)}</td><td>${c.ok ? '✓' : '✗'} ${esc(c.line)}</td></tr>`,
  );
  return `<table id="checks"><thead><tr><th>section</th><th>check</th><th>declared at</th><th>verdict</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderReport(rec: RunRecord): string {
  const versions = versionsOf(rec.samples);
  const a = axis(rec);
  const total = rec.samples.reduce((n, s) => n + s.total, 0);
  const errs = rec.samples.reduce((n, s) => n + errorCount(s), 0);
  const meta: Array<[string, string]> = [
    ['document', rec.document],
    ['target', rec.target],
    ['date', new Date(rec.startedAt).toISOString()],
    ['duration', `${((rec.endedAt - rec.startedAt) / 1000).toFixed(1)} s`],
    ['versions', versions.join(', ') || 'none seen'],
    ['calls observed', `${total} (${errs} failed)`],
    ['result', rec.exitCode === 0 ? 'passed' : `failed (exit ${rec.exitCode})`],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Traffic shift report: ${esc(rec.document)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:900px;color:#0f172a}
h1{font-size:20px}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px}dt{color:#475569}
svg text{font-size:11px;fill:#334155}.grid{stroke:#e2e8f0}.series{fill:none;stroke-width:2}
.stage line{stroke:#0f172a;stroke-dasharray:4 3}.stage.fail line{stroke:#dc2626}.err{fill:#dc2626}
figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e2e8f0;padding:4px 8px;text-align:left}
tr.pass td:last-child{color:#15803d}tr.fail td:last-child{color:#dc2626;font-weight:600}
.legend span{margin-right:16px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
</style></head><body>
<h1>Traffic shift report</h1>
<dl>${meta.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>
${legend(versions)}
${shareChart(rec, versions, a)}
${errorLatencyChart(rec, a)}
<h2>Stages</h2>
${verdicts(rec)}
<h2>Checks</h2>
${checkRows(rec)}
</body></html>
`;
}
