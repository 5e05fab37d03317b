// The balance layer (linkerd2-proxy's linkerd/proxy/balance with its failfast queue and the
// retry of refused streams): one routed call -> the ready endpoints of its backend -> a wait
// while some are still connecting -> P2C over peak-EWMA -> an attempt, placed again when the
// endpoint refused it unprocessed (REFUSED_STREAM, a GOAWAY that crossed it) -> the metrics of
// its outcome. The only module that counts requests in flight on an endpoint's estimate.

import { observe, pickP2C, requestEnded, requestStarted, type Estimate } from './balancer.ts';
import { attempt as startAttempt, callFinished, failCall, GRPC, refuseCall, type AttemptListener, type Call } from './forwarder.ts';
import type { Metrics, Series } from './metrics.ts';
import type { Endpoint, Route } from './routing-table.ts';
import type { Upstream, UpstreamPool } from './upstreams.ts';

/** Placements per call, counting re-placements after a refusal. */
const MAX_ATTEMPTS = 4;

export type Routed = Extract<Route, { ok: true }>;

export interface BalanceOptions {
  pool: UpstreamPool;
  metrics: Metrics;
  /** How long a call may wait for an endpoint that is still connecting, ms. */
  waitForEndpointMs: number;
}

export interface Balance {
  /** Send a routed call to one of its backend's endpoints (its wait counts from call.receivedAt). */
  place(call: Call, route: Routed): void;
}

/** One attempt of one call on one endpoint: what the outcome handler needs to know. */
interface Placement {
  call: Call;
  route: Routed;
  attempt: number;
  /** The endpoint's estimate when the call left (a reconnect starts a new one). */
  estimate: Estimate;
  series: Series;
  sentAt: number;
}

export function createBalance({ pool, metrics, waitForEndpointMs }: BalanceOptions): Balance {
  // One handler for every attempt's outcome; each attempt carries its own Placement.
  const outcomes: AttemptListener<Placement> = {
    onResponse(p) {
      // The forwarder noted the answer's moment just before telling us.
      observe(p.estimate, p.call.answeredAt - p.sentAt, p.call.answeredAt);
    },
    onDone(p, status, refused) {
      requestEnded(p.estimate);
      if (!refused) return metrics.response(p.series, status, performance.now() - p.call.receivedAt);
      metrics.retry(p.series);
      // The endpoint did not process it (typically: its GOAWAY crossed our request).
      if (p.attempt + 1 < MAX_ATTEMPTS) place(p.call, p.route, p.attempt + 1);
      else {
        metrics.response(p.series, GRPC.UNAVAILABLE, performance.now() - p.call.receivedAt);
        refuseCall(p.call);
      }
    },
  };

  const place = (call: Call, r: Routed, attempt: number): void => {
    if (callFinished(call)) return;
    const ready: Array<{ e: Endpoint; u: Upstream }> = [];
    let connecting = false;
    let lastError: string | undefined;
    for (const e of r.endpoints) {
      const u = pool.get(e.address);
      if (!u) continue;
      if (u.state === 'ready' && u.session) ready.push({ e, u });
      else if (u.state === 'connecting') connecting = true;
      else lastError ??= u.lastError;
    }
    const now = performance.now();
    if (ready.length === 0) {
      const waited = now - call.receivedAt;
      if (connecting && waited < waitForEndpointMs) {
        void pool.changed(waitForEndpointMs - waited).then(() => place(call, r, attempt));
        return;
      }
      metrics.response(metrics.series({ service: r.apex, backend: r.backend, endpoint: '', pod: '' }), GRPC.UNAVAILABLE, now - call.receivedAt);
      const why =
        r.endpoints.length === 0 ? `service ${r.backend} has no endpoints` : `no live endpoint for service ${r.backend} (${r.endpoints.length} down${lastError ? `: ${lastError}` : ''})`;
      failCall(call, GRPC.UNAVAILABLE, why);
      return;
    }
    const { e, u } = pickP2C(ready, (x) => x.u.estimate, now)!;
    const series = metrics.series({ service: r.apex, backend: r.backend, endpoint: e.address, pod: e.pod });
    const p: Placement = { call, route: r, attempt, estimate: u.estimate, series, sentAt: now };
    try {
      startAttempt(call, u.session!, `${e.pod} (${e.address})`, outcomes, p);
    } catch (err) {
      // The session cannot open streams (going away): nothing was sent, so place it again.
      pool.retire(u);
      if (attempt + 1 < MAX_ATTEMPTS) return place(call, r, attempt + 1);
      metrics.response(series, GRPC.UNAVAILABLE, now - call.receivedAt);
      failCall(call, GRPC.UNAVAILABLE, `upstream ${e.pod} (${e.address}) cannot take calls: ${(err as Error).message}`);
      return;
    }
    requestStarted(u.estimate);
    metrics.request(series);
  };

  return { place: (call, route) => place(call, route, 0) };
}
