// Reading the proxy's Prometheus histograms back, for the bench: cumulative buckets and the
// quantile estimate Prometheus's histogram_quantile() makes from them. The text is read by
// lib/prometheus.ts, the one parser.

import { parseMetrics } from '../lib/prometheus.ts';

/** [upper bound, cumulative count] pairs of mesh_proxy_overhead_ms for one leg, +Inf last. */
export function overheadBuckets(text: string, leg: 'request' | 'response'): Array<[number, number]> {
  return parseMetrics(text)
    .filter((s) => s.name === 'mesh_proxy_overhead_ms_bucket' && s.labels.leg === leg && s.labels.le !== undefined)
    .map((s) => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value]);
}

/** Bucket counts of `after` minus those of `before` (the samples in between). */
export function subtract(after: Array<[number, number]>, before: Array<[number, number]>): Array<[number, number]> {
  return after.map(([le, n], i) => [le, n - (before[i]?.[1] ?? 0)]);
}

/** Linear interpolation inside the bucket holding quantile q (histogram_quantile's method); NaN without samples. */
export function bucketQuantile(buckets: Array<[number, number]>, q: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of buckets) {
    if (n >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevN)) / Math.max(1, n - prevN);
    }
    prevLe = le;
    prevN = n;
  }
  return prevLe;
}
