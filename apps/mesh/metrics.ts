// Counters in the spirit of linkerd-proxy's request_total / response_total /
// response_latency_ms, rendered as Prometheus text.

export interface CallKey {
  /** The Service the client addressed. */
  service: string;
  /** The Service the split (or no split) sent the call to. */
  backend: string;
  /** Empty when the call never reached an endpoint. */
  endpoint: string;
  pod: string;
}

export interface EndpointGauge {
  service: string;
  endpoint: string;
  pod: string;
  ready: boolean;
  inflight: number;
  rttMs: number;
}

/** Upper bounds of the latency buckets, milliseconds (+Inf is implied). */
const BUCKETS_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 30000];

/**
 * The proxy's own time per call, in process, milliseconds: `request` from a call's headers
 * arriving to its first request bytes handed to the endpoint's stream, `response` from the
 * endpoint's answer arriving to the client's final frame handed back. What the end-to-end
 * latency carries on top (the kernel, the other processes on the cores) is not in it.
 */
const OVERHEAD_BUCKETS_MS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100];

/** Where the forwarder reports each call's two legs (see OVERHEAD_BUCKETS_MS). */
export interface OverheadSink {
  request(ms: number): void;
  response(ms: number): void;
}

/** The counters of one (service, backend, endpoint, pod); callers keep it for the call's life. */
export interface Series {
  key: CallKey;
  requests: number;
  retries: number;
  byStatus: Map<number, number>;
  hist: Histogram;
}

interface Histogram {
  service: string;
  backend: string;
  counts: number[];
  sum: number;
  n: number;
}

export interface Metrics {
  series(key: CallKey): Series;
  request(s: Series): void;
  response(s: Series, grpcStatus: number, latencyMs: number): void;
  /** An endpoint refused an attempt unprocessed; the call was placed again. */
  retry(s: Series): void;
  /** A call refused before it had a backend (e.g. unknown service). */
  routeFailure(reason: string): void;
  /** A client opened an HTTP/2 connection to the proxy. */
  connection(): void;
  readonly overhead: OverheadSink;
  render(gauges: readonly EndpointGauge[]): string;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (o: Record<string, string | number>) =>
  `{${Object.entries(o)
    .map(([k, v]) => `${k}="${esc(String(v))}"`)
    .join(',')}}`;

export function createMetrics(): Metrics {
  const series = new Map<string, Series>();
  const hists = new Map<string, Histogram>();
  const routeFailures = new Map<string, number>();
  let connections = 0;
  const legs = { request: bucketCounts(OVERHEAD_BUCKETS_MS), response: bucketCounts(OVERHEAD_BUCKETS_MS) };

  return {
    series(k) {
      const id = `${k.service}\0${k.backend}\0${k.endpoint}\0${k.pod}`;
      let s = series.get(id);
      if (!s) {
        const hid = `${k.service}\0${k.backend}`;
        let hist = hists.get(hid);
        if (!hist) hists.set(hid, (hist = { service: k.service, backend: k.backend, counts: BUCKETS_MS.map(() => 0), sum: 0, n: 0 }));
        series.set(id, (s = { key: { ...k }, requests: 0, retries: 0, byStatus: new Map(), hist }));
      }
      return s;
    },
    request(s) {
      s.requests += 1;
    },
    response(s, grpcStatus, latencyMs) {
      s.byStatus.set(grpcStatus, (s.byStatus.get(grpcStatus) ?? 0) + 1);
      const h = s.hist;
      for (let i = 0; i < BUCKETS_MS.length; i++) if (latencyMs <= BUCKETS_MS[i]!) h.counts[i]! += 1;
      h.sum += latencyMs;
      h.n += 1;
    },
    retry(s) {
      s.retries += 1;
    },
    routeFailure(reason) {
      routeFailures.set(reason, (routeFailures.get(reason) ?? 0) + 1);
    },
    connection() {
      connections += 1;
    },
    overhead: {
      request: (ms) => count(legs.request, OVERHEAD_BUCKETS_MS, ms),
      response: (ms) => count(legs.response, OVERHEAD_BUCKETS_MS, ms),
    },
    render(gauges) {
      const out: string[] = [];
      out.push('# HELP mesh_downstream_connections_total HTTP/2 connections clients opened to the proxy.', '# TYPE mesh_downstream_connections_total counter');
      out.push(`mesh_downstream_connections_total ${connections}`);
      const all = [...series.values()];
      out.push('# HELP mesh_request_total Calls the proxy sent to an endpoint.', '# TYPE mesh_request_total counter');
      for (const s of all) if (s.key.endpoint) out.push(`mesh_request_total${labels({ ...s.key })} ${s.requests}`);
      out.push('# HELP mesh_response_total Calls that ended, by the gRPC status the client saw.', '# TYPE mesh_response_total counter');
      for (const s of all) {
        for (const [code, n] of [...s.byStatus].sort((a, b) => a[0] - b[0])) {
          out.push(`mesh_response_total${labels({ ...s.key, grpc_status: code })} ${n}`);
        }
      }
      out.push('# HELP mesh_retries_total Attempts an endpoint refused unprocessed (REFUSED_STREAM); the call went elsewhere.', '# TYPE mesh_retries_total counter');
      for (const s of all) if (s.retries) out.push(`mesh_retries_total${labels({ ...s.key })} ${s.retries}`);
      out.push('# HELP mesh_response_latency_ms Call duration at the proxy, milliseconds.', '# TYPE mesh_response_latency_ms histogram');
      for (const h of hists.values()) {
        const base = { service: h.service, backend: h.backend };
        BUCKETS_MS.forEach((le, i) => out.push(`mesh_response_latency_ms_bucket${labels({ ...base, le })} ${h.counts[i]}`));
        out.push(`mesh_response_latency_ms_bucket${labels({ ...base, le: '+Inf' })} ${h.n}`);
        out.push(`mesh_response_latency_ms_sum${labels(base)} ${h.sum.toFixed(3)}`);
        out.push(`mesh_response_latency_ms_count${labels(base)} ${h.n}`);
      }
      out.push("# HELP mesh_proxy_overhead_ms The proxy's own time per call, in process: leg=request from its headers in to its request handed upstream, leg=response from the endpoint's answer in to the client's final frame handed back.", '# TYPE mesh_proxy_overhead_ms histogram');
      for (const [leg, h] of Object.entries(legs)) {
        OVERHEAD_BUCKETS_MS.forEach((le, i) => out.push(`mesh_proxy_overhead_ms_bucket{leg="${leg}",le="${le}"} ${h.counts[i]}`));
        out.push(`mesh_proxy_overhead_ms_bucket{leg="${leg}",le="+Inf"} ${h.n}`);
        out.push(`mesh_proxy_overhead_ms_sum{leg="${leg}"} ${h.sum.toFixed(4)}`);
        out.push(`mesh_proxy_overhead_ms_count{leg="${leg}"} ${h.n}`);
      }
      out.push('# HELP mesh_route_failures_total Calls refused before routing.', '# TYPE mesh_route_failures_total counter');
      for (const [reason, n] of routeFailures) out.push(`mesh_route_failures_total${labels({ reason })} ${n}`);
      out.push('# HELP mesh_endpoint_ready 1 while the endpoint is in the rotation.', '# TYPE mesh_endpoint_ready gauge');
      for (const g of gauges) out.push(`mesh_endpoint_ready${labels({ service: g.service, endpoint: g.endpoint, pod: g.pod })} ${g.ready ? 1 : 0}`);
      out.push('# HELP mesh_endpoint_inflight Calls in flight on the endpoint.', '# TYPE mesh_endpoint_inflight gauge');
      for (const g of gauges) out.push(`mesh_endpoint_inflight${labels({ service: g.service, endpoint: g.endpoint, pod: g.pod })} ${g.inflight}`);
      out.push('# HELP mesh_endpoint_rtt_ms Peak-EWMA latency estimate the balancer uses.', '# TYPE mesh_endpoint_rtt_ms gauge');
      for (const g of gauges) out.push(`mesh_endpoint_rtt_ms${labels({ service: g.service, endpoint: g.endpoint, pod: g.pod })} ${g.rttMs.toFixed(3)}`);
      return out.join('\n') + '\n';
    },
  };
}

interface BucketCounts {
  /** Cumulative, as Prometheus renders them: counts[i] is the samples <= bounds[i]. */
  counts: number[];
  sum: number;
  n: number;
}

function bucketCounts(bounds: readonly number[]): BucketCounts {
  return { counts: bounds.map(() => 0), sum: 0, n: 0 };
}

function count(h: BucketCounts, bounds: readonly number[], x: number): void {
  for (let i = bounds.length - 1; i >= 0 && x <= bounds[i]!; i--) h.counts[i]! += 1;
  h.sum += x;
  h.n += 1;
}
