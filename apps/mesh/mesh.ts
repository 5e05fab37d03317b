// The local stand-in for a meshed client's Linkerd sidecar: an L7 HTTP/2 proxy that routes
// each call by its authority through the split in force to a backend Service, then to one of
// its endpoints by power of two choices over peak-EWMA, per request.

import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { describeSplit, type CallInfo, type Split } from '../../lib/split.ts';
import { startAdmin, type AdminHandlers, type ApplyAnswer, type EndpointView } from './admin.ts';
import { createBalance } from './balance.ts';
import { DEFAULT_EWMA, type EwmaOptions } from './balancer.ts';
import { respondGrpcError, startCall } from './forwarder.ts';
import { createMetrics, type EndpointGauge } from './metrics.ts';
import {
  applyManifests,
  deleteManifests,
  emptyTable,
  parseServices,
  route,
  withServices,
  type Endpoint,
  type RoutingTable,
} from './routing-table.ts';
import { createPool, type UpstreamPool } from './upstreams.ts';

export type { Endpoint } from './routing-table.ts';
export { ConfigError } from './routing-table.ts';

export interface Limits {
  /** Largest header block (metadata) accepted from clients, bytes. */
  maxHeaderListSize: number;
  /** Calls one client connection may have open at once. */
  maxConcurrentStreams: number;
  /** How long a call may wait for an endpoint that is still connecting, ms. */
  waitForEndpointMs: number;
  /** Request bytes kept so a call an endpoint refused can be sent elsewhere (linkerd: 64 KiB). */
  replayBytes: number;
  /**
   * Largest request message, by its gRPC length prefix; a larger one is answered
   * RESOURCE_EXHAUSTED by the proxy before the endpoint gets it. gRPC's own default receive
   * limit, so the proxy refuses only what the servers would. Answers are not checked: the
   * client enforces its own receive limit, and the proxy never buffers a whole message.
   */
  maxMessageBytes: number;
}

export const DEFAULT_LIMITS: Limits = { maxHeaderListSize: 16 * 1024, maxConcurrentStreams: 1000, waitForEndpointMs: 3000, replayBytes: 64 * 1024, maxMessageBytes: 4 * 1024 * 1024 };

export interface MeshOptions {
  host?: string;
  port?: number;
  adminPort?: number;
  /** Service name -> endpoints. List the apex too (both versions), as its Service selects them. */
  services: Record<string, Endpoint[]>;
  /** Initial TrafficSplit / GRPCRoute YAML. */
  manifests?: string;
  limits?: Partial<Limits>;
  /** Peak-EWMA tuning; linkerd2-proxy's defaults (30 ms, 10 s) unless given. */
  ewma?: Partial<EwmaOptions>;
  log?: (line: string) => void;
}

export interface Mesh {
  port: number;
  adminPort: number;
  /** Apply splits from manifest YAML, all or nothing; throws ConfigError and keeps the old ones. */
  apply(yamlText: string): Split[];
  /** Remove the splits a manifest names; the apex goes back to its own endpoints. */
  delete(yamlText: string): Split[];
  /** Replace the endpoint table; throws ConfigError if a split in force would lose a service. */
  setEndpoints(services: Record<string, Endpoint[]>): void;
  table(): RoutingTable;
  /**
   * Stop accepting connections (proxy and admin) but keep serving the open ones: the first
   * half of a hand-over to a new proxy on the same ports. close() ends the rest.
   */
  stopListening(): Promise<void>;
  close(graceMs?: number): Promise<void>;
}

const noop = () => {};

const LOOP_RESOLUTION_MS = 10;

function loopDelayText(h: IntervalHistogram): string {
  // The histogram holds whole intervals between samples; the delay is what exceeds the period.
  const ms = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS).toFixed(3);
  return [
    '# HELP mesh_event_loop_delay_ms How late the proxy\'s event loop ran, since start.',
    '# TYPE mesh_event_loop_delay_ms summary',
    ...[0.5, 0.99, 0.999].map((q) => `mesh_event_loop_delay_ms{quantile="${q}"} ${ms(h.percentile(q * 100))}`),
    `mesh_event_loop_delay_ms_max ${ms(h.max)}`,
    '',
  ].join('\n');
}

/** Every service's endpoints with their upstream state, in table order; /config, /metrics and /ready read these. */
function endpointViews(table: RoutingTable, pool: UpstreamPool): Array<[service: string, endpoints: EndpointView[]]> {
  return [...table.services].map(([service, eps]) => [
    service,
    eps.map((e) => {
      const u = pool.get(e.address);
      return { address: e.address, pod: e.pod, state: u?.state ?? 'unknown', inflight: u?.estimate.inflight ?? 0, rttMs: u?.estimate.rttMs ?? 0, lastError: u?.lastError };
    }),
  ]);
}

export async function startMesh(opts: MeshOptions): Promise<Mesh> {
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => {});
  // The one mutable reference: every change builds a new table and swaps it here.
  let table: RoutingTable = withServices(emptyTable(), parseServices(opts.services));
  if (opts.manifests !== undefined) table = applyManifests(table, opts.manifests).table;

  const metrics = createMetrics();
  const pool = createPool({ log, settings: { maxHeaderListSize: limits.maxHeaderListSize }, ewma: { ...DEFAULT_EWMA, ...opts.ewma } });
  const syncPool = () => pool.sync([...table.services.values()].flatMap((eps) => eps.map((e) => e.address)));
  syncPool();

  const balance = createBalance({ pool, metrics, waitForEndpointMs: limits.waitForEndpointMs });

  const server = http2.createServer({
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderListSize },
  });
  const sessions = new Set<Http2Session>();
  server.on('connection', (socket: import('node:net').Socket) => socket.setNoDelay(true));
  server.on('session', (s: Http2Session) => {
    sessions.add(s);
    metrics.connection();
    s.on('error', () => {});
    s.on('close', () => sessions.delete(s));
  });
  server.on('sessionError', () => {});
  server.on('stream', (down: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
    const t0 = performance.now();
    const authority = String(headers[':authority'] ?? headers.host ?? '');
    // Routed once, against the table in force now: a later apply does not move this call.
    const r = route(table, authority, Math.random(), { path: String(headers[':path'] ?? ''), headers: headers as CallInfo['headers'] });
    if (!r.ok) {
      down.on('error', noop);
      metrics.routeFailure(r.reason);
      respondGrpcError(down, r.code, r.message);
      return;
    }
    const call = startCall(down, headers, (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0, limits.replayBytes, limits.maxMessageBytes, t0, metrics.overhead);
    balance.place(call, r);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => resolve());
    });
  } catch (e) {
    await pool.close(0);
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  // A stalled event loop delays every call in the proxy; /metrics shows how much.
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loopDelay.enable();

  const gauges = (): EndpointGauge[] =>
    endpointViews(table, pool).flatMap(([service, views]) =>
      views.map((v) => ({ service, endpoint: v.address, pod: v.pod, ready: v.state === 'ready', inflight: v.inflight, rttMs: v.rttMs })),
    );

  const applyText = (yamlText: string): ApplyAnswer => {
    const next = applyManifests(table, yamlText);
    table = next.table;
    for (const s of next.applied) log(`split applied: ${describeSplit(s)}`);
    return { applied: next.applied, manifests: next.manifests };
  };

  const mesh: Mesh = {
    port,
    adminPort: 0,
    apply: (yamlText) => applyText(yamlText).applied,
    delete(yamlText) {
      const next = deleteManifests(table, yamlText);
      table = next.table;
      for (const s of next.deleted) log(`split deleted: ${s.apex} goes to its own endpoints`);
      return next.deleted;
    },
    setEndpoints(services) {
      table = withServices(table, parseServices(services));
      syncPool();
      log(`endpoints set: ${[...table.services].map(([n, eps]) => `${n}=${eps.length}`).join(' ')}`);
    },
    table: () => table,
    async stopListening() {
      server.close();
      admin.stopListening();
      // The listening sockets are released when the loop next runs its close callbacks.
      await new Promise((r) => setImmediate(r));
      log('stopped listening; open connections are still served');
    },
    async close(graceMs = 5000) {
      server.close();
      for (const s of sessions) s.close();
      await Promise.race([
        Promise.all([...sessions].map((s) => new Promise((r) => s.once('close', r)))),
        new Promise((r) => setTimeout(r, graceMs).unref()),
      ]);
      for (const s of sessions) s.destroy();
      await pool.close(1000);
      await admin.close();
      loopDelay.disable();
    },
  };

  const handlers: AdminHandlers = {
    ready() {
      const down = endpointViews(table, pool).filter(([, views]) => views.length > 0 && !views.some((v) => v.state === 'ready')).map(([n]) => n);
      return down.length ? { ok: false, reason: `no live endpoint for ${down.join(', ')}` } : { ok: true };
    },
    config: () => ({
      listen: `${host}:${port}`,
      admin: `127.0.0.1:${mesh.adminPort}`,
      services: Object.fromEntries(
        endpointViews(table, pool).map(([name, views]) => [
          name,
          views.map((v) => ({
            address: v.address,
            pod: v.pod,
            state: v.state,
            inflight: v.inflight,
            rttMs: Number(v.rttMs.toFixed(3)),
            ...(v.lastError && v.state !== 'ready' ? { lastError: v.lastError } : {}),
          })),
        ]),
      ),
      splits: [...table.splits.values()],
    }),
    metrics: () => metrics.render(gauges()) + loopDelayText(loopDelay),
    apply: applyText,
    delete: (text) => ({ deleted: mesh.delete(text) }),
    setEndpoints(json) {
      mesh.setEndpoints(json as Record<string, Endpoint[]>);
      return { services: Object.fromEntries([...table.services].map(([n, eps]) => [n, eps.length])) };
    },
  };
  let admin: Awaited<ReturnType<typeof startAdmin>>;
  try {
    admin = await startAdmin(opts.adminPort ?? 0, handlers);
  } catch (e) {
    server.close();
    loopDelay.disable();
    await pool.close(0);
    throw e;
  }
  mesh.adminPort = admin.port;
  // The first dials are quick on loopback; waiting for them means "listening" implies "ready".
  await pool.settled(2000);
  return mesh;
}
