// Reading the proxy's Prometheus histograms back, for the bench: cumulative buckets and the
// quantile estimate Prometheus's histogram_quantile() makes from them.

/** [upper bound, cumulative count] pairs of mesh_proxy_overhead_ms for one leg, +Inf last. */
export function overheadBuckets(text: string, leg: 'request' | 'response'): Array<[number, number]> {
  const re = new RegExp(`^mesh_proxy_overhead_ms_bucket\\{leg="${leg}",le="([^"]+)"\\} (\\d+)$`, 'gm');
  return [...text.matchAll(re)].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
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
