// The live view of the traffic: a bar per version with its share and count over the last
// window, errors and p99. Pure rendering; the UI decides where and how often it is drawn.

import { errorCount, type Summary } from '../../lib/summary.ts';
import { errorList } from './error-list.ts';

export interface LiveOptions {
  color: boolean;
  /** width of a bar in characters */
  barWidth?: number;
}

const PALETTE = [34, 33, 32, 35, 31, 36]; // blue, yellow, green, magenta, red, cyan

/** Aggregate the summaries of the last `windowMs` before `now`. */
export function lastWindow(samples: readonly Summary[], now: number, windowMs: number): Summary[] {
  return samples.filter((s) => now - Date.parse(s.ts) <= windowMs);
}

/** Lines for a TTY: one bar per version, then errors and latency. */
export function renderBars(window: Summary[], versions: string[], o: LiveOptions): string[] {
  const width = o.barWidth ?? 30;
  const ok = window.reduce((n, s) => n + s.ok, 0);
  const errs = window.reduce((n, s) => n + errorCount(s), 0);
  const seconds = window.reduce((n, s) => n + s.intervalMs, 0) / 1000;
  const c = (code: number, s: string) => (o.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lines = versions.map((v, i) => {
    const n = window.reduce((a, s) => a + (s.byVersion[v] ?? 0), 0);
    const share = ok === 0 ? 0 : n / ok;
    const full = Math.round(share * width);
    const bar = c(PALETTE[i % PALETTE.length]!, '█'.repeat(full)) + '░'.repeat(width - full);
    return `  ${v.padEnd(6)} ${bar} ${(100 * share).toFixed(1).padStart(5)}%  ${String(n).padStart(6)} calls`;
  });
  const p99 = window.length ? Math.max(...window.map((s) => s.latencyMs.p99)) : 0;
  const errText = errs === 0 ? 'errors 0' : c(31, `errors ${errs} (${errorBreakdown(window)})`);
  lines.push(`  ${errText}   p99 ${p99.toFixed(1)} ms   last ${seconds.toFixed(0)} s`);
  return lines;
}

/** One plain line, for logs and CI: `traffic v1 95.0% (475) v2 5.0% (25) errors 0 p99 3.2 ms`. */
export function renderLine(window: Summary[], versions: string[]): string {
  const ok = window.reduce((n, s) => n + s.ok, 0);
  const parts = versions.map((v) => {
    const n = window.reduce((a, s) => a + (s.byVersion[v] ?? 0), 0);
    return `${v} ${ok === 0 ? '0.0' : ((100 * n) / ok).toFixed(1)}% (${n})`;
  });
  const errs = window.reduce((n, s) => n + errorCount(s), 0);
  const p99 = window.length ? Math.max(...window.map((s) => s.latencyMs.p99)) : 0;
  return `traffic ${parts.join(' ') || 'no calls'} errors ${errs}${errs ? ` (${errorBreakdown(window)})` : ''} p99 ${p99.toFixed(1)} ms`;
}

function errorBreakdown(window: Summary[]): string {
  const by: Record<string, number> = {};
  for (const s of window) for (const [k, n] of Object.entries(s.errors)) by[k] = (by[k] ?? 0) + n;
  return errorList(by);
}
