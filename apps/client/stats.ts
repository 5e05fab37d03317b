// Per-interval counts of completed calls, turned into the Summary contract (lib/summary.ts).
import type { Summary } from '../../lib/summary.ts';

export type Outcome = { ok: true; version: string; pod: string; latencyMs: number } | { ok: false; status: string; latencyMs: number };

export interface Interval {
  ok: number;
  errors: Record<string, number>;
  byVersion: Record<string, number>;
  byPod: Record<string, number>;
  latencies: number[];
  /** Calls not started because CONCURRENCY calls were already in flight. */
  skipped: number;
}

export function emptyInterval(): Interval {
  return { ok: 0, errors: {}, byVersion: {}, byPod: {}, latencies: [], skipped: 0 };
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export function record(iv: Interval, o: Outcome): void {
  iv.latencies.push(o.latencyMs);
  if (o.ok) {
    iv.ok += 1;
    bump(iv.byVersion, o.version);
    bump(iv.byPod, o.pod);
  } else {
    bump(iv.errors, o.status);
  }
}

/** Nearest-rank percentile of ascending `sorted`; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function summarize(iv: Interval, end: Date, intervalMs: number, final: boolean): Summary {
  const sorted = [...iv.latencies].sort((a, b) => a - b);
  const s: Summary = {
    ts: end.toISOString(),
    intervalMs: Math.round(intervalMs),
    total: iv.latencies.length,
    ok: iv.ok,
    errors: iv.errors,
    byVersion: iv.byVersion,
    byPod: iv.byPod,
    // Two decimals, as the text line prints them, so both formats read back the same.
    latencyMs: { p50: round2(percentile(sorted, 50)), p99: round2(percentile(sorted, 99)) },
  };
  if (final) s.final = true;
  return s;
}
