// Per-request endpoint choice, as linkerd2-proxy does it: power of two choices over a
// peak-EWMA latency estimate scaled by the requests in flight (tower's PeakEwma + P2C).

/** Load estimate of one endpoint. Mutable on purpose: it is updated on every response. */
export interface Estimate {
  /** Peak-EWMA round-trip estimate, milliseconds. */
  rttMs: number;
  /** When rttMs was last updated (performance.now() ms). */
  stamp: number;
  /** Requests dispatched and not yet finished. */
  inflight: number;
  /** Time constant of the decay, ms. */
  decayMs: number;
}

export interface EwmaOptions {
  /** Estimate before anything is observed, ms. */
  defaultRttMs: number;
  /** How fast old samples (and peaks) fade, ms. */
  decayMs: number;
}

/** linkerd2-proxy's defaults: 30 ms before anything is observed, 10 s decay. */
export const DEFAULT_RTT_MS = 30;
const DECAY_MS = 10_000;
export const DEFAULT_EWMA: EwmaOptions = { defaultRttMs: DEFAULT_RTT_MS, decayMs: DECAY_MS };

export function newEstimate(now: number, rttMs = DEFAULT_RTT_MS, decayMs = DECAY_MS): Estimate {
  return { rttMs, stamp: now, inflight: 0, decayMs };
}

/**
 * Fold one observed round trip into the estimate. A slower sample replaces the estimate at
 * once (the "peak"); a faster one pulls it down by how long it has been since the last update.
 */
export function observe(e: Estimate, rttMs: number, now: number): void {
  if (rttMs > e.rttMs) {
    e.rttMs = rttMs;
  } else {
    const decay = Math.exp(-Math.max(0, now - e.stamp) / e.decayMs);
    e.rttMs = e.rttMs * decay + rttMs * (1 - decay);
  }
  e.stamp = now;
}

/** Current cost: the estimate decayed toward zero for idle time, times (inflight + 1). */
export function cost(e: Estimate, now: number): number {
  observe(e, 0, now);
  return e.rttMs * (e.inflight + 1);
}

/**
 * Power of two choices: two distinct candidates at random, the cheaper wins. `random` is
 * uniform in [0, 1); injected so the choice can be tested.
 */
export function pickP2C<T>(items: readonly T[], estimateOf: (item: T) => Estimate, now: number, random: () => number = Math.random): T | undefined {
  const n = items.length;
  if (n <= 1) return items[0];
  const i = Math.floor(random() * n);
  let j = Math.floor(random() * (n - 1));
  if (j >= i) j += 1;
  const a = items[i]!;
  const b = items[j]!;
  return cost(estimateOf(b), now) < cost(estimateOf(a), now) ? b : a;
}

/** A request left for the endpoint: it counts in the cost until `requestEnded`. */
export function requestStarted(e: Estimate): void {
  e.inflight += 1;
}

export function requestEnded(e: Estimate): void {
  e.inflight -= 1;
}
