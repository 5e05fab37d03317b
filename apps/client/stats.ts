// Per-interval counts of completed calls, turned into the Summary contract (lib/summary.ts).
import { UNKNOWN_SERVER, type GroupCounts, type Summary } from '../../lib/summary.ts';

/**
 * A completed call. A failed one names the version and pod its answer's trailers gave, if any;
 * `header` says it was sent with the client's header (HEADER_SHARE).
 */
export type Outcome = ({ ok: true; version: string; pod: string } | { ok: false; status: string; version?: string; pod?: string }) & {
  latencyMs: number;
  header?: boolean;
};

export interface Interval {
  ok: number;
  errors: Record<string, number>;
  byVersion: Record<string, number>;
  byPod: Record<string, number>;
  errorsByVersion: Record<string, number>;
  errorsByPod: Record<string, number>;
  /** Set when the client sends its header on a share of calls: those calls and the rest, apart. */
  groups?: { header: GroupCounts; plain: GroupCounts };
  latencies: number[];
  /** Calls not started because CONCURRENCY calls were already in flight. */
  skipped: number;
}

const emptyGroup = (): GroupCounts => ({ total: 0, ok: 0, byVersion: {} });

/** `grouped`: count header calls and the rest apart (the client sends a header on a share). */
export function emptyInterval(grouped = false): Interval {
  const iv: Interval = { ok: 0, errors: {}, byVersion: {}, byPod: {}, errorsByVersion: {}, errorsByPod: {}, latencies: [], skipped: 0 };
  if (grouped) iv.groups = { header: emptyGroup(), plain: emptyGroup() };
  return iv;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export function record(iv: Interval, o: Outcome): void {
  iv.latencies.push(o.latencyMs);
  const g = iv.groups ? (o.header ? iv.groups.header : iv.groups.plain) : undefined;
  if (g) g.total += 1;
  if (o.ok) {
    iv.ok += 1;
    bump(iv.byVersion, o.version);
    bump(iv.byPod, o.pod);
    if (g) {
      g.ok += 1;
      bump(g.byVersion, o.version);
    }
  } else {
    bump(iv.errors, o.status);
    bump(iv.errorsByVersion, o.version ?? UNKNOWN_SERVER);
    bump(iv.errorsByPod, o.pod ?? UNKNOWN_SERVER);
    if (g) bump((g.errorsByVersion ??= {}), o.version ?? UNKNOWN_SERVER);
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
  // Only when something failed, so a clean line is the same as the older format's.
  if (Object.keys(iv.errorsByVersion).length > 0) {
    s.errorsByVersion = iv.errorsByVersion;
    s.errorsByPod = iv.errorsByPod;
  }
  if (iv.groups) s.groups = iv.groups;
  if (final) s.final = true;
  return s;
}
