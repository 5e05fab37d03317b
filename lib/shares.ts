// Does observed traffic match a split? The statistics are here once, for the runner's stage
// checks and for the tests that assert the same thing.

import { percentLabel, shares, type Split } from './split.ts';

/**
 * A split names a backend that no Service maps to a version: the traffic cannot be compared
 * with it. The one expected reason a share check cannot be made; anything else is a bug.
 */
export class UnmappedBackendError extends Error {
  override name = 'UnmappedBackendError';
  constructor(readonly service: string) {
    super(`backend ${service} reaches no server version`);
  }
}

/** Expected share per version: a backend's weight is spread over the versions its Service reaches. */
export function expectedByVersion(split: Pick<Split, 'backends'>, versionsOf: ReadonlyMap<string, string[]>): Map<string, number> {
  const res = new Map<string, number>();
  for (const [service, share] of shares(split)) {
    const versions = versionsOf.get(service);
    if (!versions || versions.length === 0) throw new UnmappedBackendError(service);
    for (const v of versions) res.set(v, (res.get(v) ?? 0) + share / versions.length);
  }
  return res;
}

/** The largest deviation of an observed share from `p` that `n` calls can show by chance. */
export function binomialBound(p: number, n: number, z = 4): number {
  return n === 0 ? 1 : z * Math.sqrt((p * (1 - p)) / n);
}

export interface ShareCheck {
  ok: boolean;
  n: number;
  /** version -> observed share (0..1) */
  observed: Map<string, number>;
  /** first version whose share is out of bounds, with why */
  reason?: string;
}

/**
 * Compare counts by version with the expected shares. A share of 0 or 1 is exact (not one
 * call to a version that should get none); others must fall within the binomial bound.
 * A version seen but not expected counts as expected share 0.
 */
export function checkShares(expected: ReadonlyMap<string, number>, byVersion: Readonly<Record<string, number>>): ShareCheck {
  const n = Object.values(byVersion).reduce((a, b) => a + b, 0);
  const observed = new Map<string, number>();
  const versions = new Set([...expected.keys(), ...Object.keys(byVersion)]);
  let reason: string | undefined;
  for (const v of versions) {
    const p = expected.get(v) ?? 0;
    const k = byVersion[v] ?? 0;
    const q = n === 0 ? 0 : k / n;
    observed.set(v, q);
    if (reason) continue;
    if (n === 0) reason = 'no calls observed';
    else if (p === 0 && k > 0) reason = `${v} got ${k} calls, expected none`;
    else if (p === 1 && k < n) reason = `${v} got ${k} of ${n} calls, expected all`;
    else if (Math.abs(q - p) > binomialBound(p, n)) reason = `${v} share ${pct(q)} is outside ${pct(p)} ± ${pct(binomialBound(p, n))} for n=${n}`;
  }
  return { ok: reason === undefined, n, observed, ...(reason ? { reason } : {}) };
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** "94.8/5.2" in the order of `versions`. */
export function shareLabel(observed: ReadonlyMap<string, number>, versions: string[]): string {
  return percentLabel(versions.map((v) => observed.get(v) ?? 0));
}
