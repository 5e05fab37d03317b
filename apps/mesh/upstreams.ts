// One HTTP/2 session per endpoint, shared by every call routed there (calls are multiplexed;
// the balancing is per request, never per connection). An endpoint is in the rotation only
// while its session is connected; one that refuses connections is re-dialled with backoff and
// comes back on its own.

import http2, { type ClientHttp2Session } from 'node:http2';
import net from 'node:net';
import { DEFAULT_EWMA, newEstimate, type Estimate, type EwmaOptions } from './balancer.ts';

export type UpstreamState = 'connecting' | 'ready' | 'down';

/** Runtime state of one endpoint address. Mutable: it follows the connection. */
export interface Upstream {
  readonly address: string;
  state: UpstreamState;
  session: ClientHttp2Session | undefined;
  estimate: Estimate;
  /** Dials that failed in a row (drives the backoff). */
  failures: number;
  lastError: string | undefined;
  readySince: number;
  timer: NodeJS.Timeout | undefined;
  removed: boolean;
}

export interface UpstreamPool {
  get(address: string): Upstream | undefined;
  all(): Upstream[];
  /** Dial addresses not seen before; close (gracefully) the ones no longer listed. */
  sync(addresses: Iterable<string>): void;
  /** Stop placing calls on this endpoint's session (it cannot open streams) and dial anew. */
  retire(u: Upstream): void;
  /** Resolves once every endpoint is ready or down (the first dials are over), or after timeoutMs. */
  settled(timeoutMs: number): Promise<void>;
  /** Resolves on the next state change of any endpoint, or after timeoutMs. */
  changed(timeoutMs: number): Promise<void>;
  /** Stop dialling; close sessions, destroying what is left after graceMs. */
  close(graceMs: number): Promise<void>;
}

export interface PoolOptions {
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** SETTINGS we send upstream (e.g. maxHeaderListSize for responses). */
  settings?: http2.Settings;
  ewma?: EwmaOptions;
  log?: (line: string) => void;
}

/** A session that lived less than this before closing counts as a failed dial (no hot loop). */
const MIN_HEALTHY_MS = 1000;

export function createPool(opts: PoolOptions = {}): UpstreamPool {
  const minMs = opts.backoffMinMs ?? 50;
  // linkerd2-proxy's outbound connect backoff tops out at 500 ms too: a replica that comes
  // back is in the rotation again within about half a second (+20 % jitter).
  const maxMs = opts.backoffMaxMs ?? 500;
  const log = opts.log ?? (() => {});
  const ewma = opts.ewma ?? DEFAULT_EWMA;
  const upstreams = new Map<string, Upstream>();
  let waiters: Array<() => void> = [];
  let closing = false;

  const notify = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  // A (re)joining endpoint starts at its peers' current estimate rather than linkerd's fixed
  // 30 ms default, which would starve it for tens of seconds beside warm peers at ~1 ms.
  const peerRtt = (except: Upstream): number => {
    const peers = [...upstreams.values()].filter((u) => u !== except && u.state === 'ready');
    return peers.length ? peers.reduce((n, u) => n + u.estimate.rttMs, 0) / peers.length : ewma.defaultRttMs;
  };

  const dial = (u: Upstream) => {
    u.timer = undefined;
    if (u.removed || closing) return;
    const colon = u.address.lastIndexOf(':');
    const host = u.address.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(u.address.slice(colon + 1));
    const session = http2.connect(`http://${u.address}`, {
      // Nagle would hold small frames (a reply's trailers) back for a delayed ACK.
      createConnection: () => net.connect({ host, port, noDelay: true }),
      settings: { enablePush: false, ...opts.settings },
    });
    u.session = session;
    u.state = 'connecting';
    session.on('connect', () => {
      if (u.session !== session) return;
      const wasDown = u.failures > 0 || u.readySince === 0;
      u.state = 'ready';
      u.readySince = performance.now();
      if (wasDown) u.estimate = newEstimate(u.readySince, peerRtt(u), ewma.decayMs);
      if (u.failures > 0) log(`endpoint ${u.address} is back after ${u.failures} failed dial(s)`);
      u.failures = 0;
      u.lastError = undefined;
      notify();
    });
    session.on('error', (e: Error) => {
      u.lastError = e.message;
    });
    // A GOAWAY means no new streams here: stop using this session at once, let its calls in
    // flight finish on it, and dial a fresh one (the server may just be ageing connections).
    session.on('goaway', () => detach(u, session, true));
    session.on('close', () => detach(u, session, false));
  };

  const detach = (u: Upstream, session: ClientHttp2Session, goaway: boolean) => {
    if (u.session !== session) return;
    u.session = undefined;
    if (goaway && !session.closed) session.close();
    if (u.removed || closing) return;
    const healthy = u.state === 'ready' && performance.now() - u.readySince >= MIN_HEALTHY_MS;
    if (goaway || healthy) {
      dial(u);
    } else {
      u.failures += 1;
      u.state = 'down';
      const delay = Math.min(maxMs, minMs * 2 ** (u.failures - 1)) * (0.8 + 0.4 * Math.random());
      if (u.failures === 1) log(`endpoint ${u.address} left the rotation: ${u.lastError ?? 'connection closed'}`);
      u.timer = setTimeout(() => dial(u), delay);
    }
    notify();
  };

  const remove = (u: Upstream) => {
    u.removed = true;
    if (u.timer) clearTimeout(u.timer);
    u.timer = undefined;
    const s = u.session;
    u.session = undefined;
    // Graceful: calls in flight on a removed endpoint still finish.
    if (s && !s.closed) s.close();
    upstreams.delete(u.address);
  };

  const changed = (timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });

  return {
    get: (address) => upstreams.get(address),
    all: () => [...upstreams.values()],
    sync(addresses) {
      const want = new Set(addresses);
      for (const u of [...upstreams.values()]) if (!want.has(u.address)) remove(u);
      for (const address of want) {
        if (upstreams.has(address)) continue;
        const u: Upstream = {
          address,
          state: 'connecting',
          session: undefined,
          estimate: newEstimate(performance.now(), ewma.defaultRttMs, ewma.decayMs),
          failures: 0,
          lastError: undefined,
          readySince: 0,
          timer: undefined,
          removed: false,
        };
        upstreams.set(address, u);
        dial(u);
      }
      notify();
    },
    retire(u) {
      if (u.session) detach(u, u.session, true);
    },
    async settled(timeoutMs) {
      const until = performance.now() + timeoutMs;
      while ([...upstreams.values()].some((u) => u.state === 'connecting') && performance.now() < until) {
        await changed(until - performance.now());
      }
    },
    changed,
    async close(graceMs) {
      closing = true;
      const sessions = [...upstreams.values()].flatMap((u) => (u.session ? [u.session] : []));
      for (const u of [...upstreams.values()]) remove(u);
      notify();
      await Promise.race([
        Promise.all(sessions.map((s) => (s.closed && s.destroyed ? undefined : new Promise((r) => s.once('close', r))))),
        new Promise((r) => setTimeout(r, graceMs).unref()),
      ]);
      for (const s of sessions) if (!s.destroyed) s.destroy();
    },
  };
}
