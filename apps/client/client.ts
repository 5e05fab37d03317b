// The demo client: ONE channel with gRPC's default pick_first policy, like an ordinary app, so
// without a mesh it sticks to whichever server it reached first. It sends SayHello at an open-loop
// rate, never gives up on RPC errors (it counts them by status name, and by the version and pod
// the failed answer's trailers name), and reports each interval as a Summary (lib/summary.ts).
// It can send one header on a share of its calls (a canary tester's traffic) and counts those
// calls apart.
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { statusName } from '../../lib/grpc-status.ts';
import type { Summary } from '../../lib/summary.ts';
import { loadGreeter, SERVED_BY_POD, SERVED_BY_VERSION, type HelloReply, type HelloRequest } from '../proto/load.ts';
import { openLoop, type Pacer } from './schedule.ts';
import { emptyInterval, record, summarize, type Interval } from './stats.ts';

export interface ClientOptions {
  /** A gRPC target: `host:port`, `dns:///host:port`, `ipv4:127.0.0.1:1,127.0.0.1:2`, ... */
  serverAddr: string;
  /** Overrides the channel's :authority (the local mesh proxy routes by it). */
  authority?: string;
  /** Calls started per second, open loop. */
  rate: number;
  /** Cap on calls in flight: a call due at the cap is skipped (counted, not queued). */
  concurrency: number;
  deadlineMs: number;
  intervalMs: number;
  /** Sent as HelloRequest.name; default the host name. */
  name?: string;
  /** A header sent on a share of the calls (0..1), e.g. x-canary: true; those are counted apart. */
  header?: TaggedHeader;
  onSummary(summary: Summary, extra: SummaryExtra): void;
  /** Progress notes (waiting, connected); default: ignored. */
  onLog?(line: string): void;
}

export interface TaggedHeader {
  /** Lower-case metadata key. */
  name: string;
  value: string;
  /** Share of calls sent with it, 0..1. */
  share: number;
}

/** What the Summary contract has no field for. */
export interface SummaryExtra {
  /** Calls skipped in the interval because `concurrency` calls were in flight. */
  skipped: number;
}

export interface RunningClient {
  /** Resolves true once the channel is READY and traffic starts, false if stopped first. */
  ready: Promise<boolean>;
  /** Stop sending, let calls in flight finish (bounded by their deadline), report the final summary. */
  stop(): Promise<Summary>;
}

interface GreeterClient extends grpc.Client {
  SayHello(req: HelloRequest, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: HelloReply) => void): grpc.ClientUnaryCall;
  SayHello(req: HelloRequest, md: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: HelloReply) => void): grpc.ClientUnaryCall;
}

// How often "still waiting" is logged while the server is not up.
const WAIT_NOTE_MS = 5000;

/** The first value of a trailer the server sets (apps/server/greeter.ts), if any. */
function trailer(md: grpc.Metadata | undefined, key: string): string | undefined {
  const v = md?.get(key)[0];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Whether call n (0, 1, 2, ...) carries the header: spread evenly, so that after n calls
 * floor(n * share) did, whatever the rate (a random draw would make small intervals noisy).
 */
export function carriesHeader(n: number, share: number): boolean {
  return Math.floor((n + 1) * share) > Math.floor(n * share);
}

export function startClient(opts: ClientOptions): RunningClient {
  const log = opts.onLog ?? (() => {});
  const channelOptions: grpc.ChannelOptions = {
    // Come back quickly when the server (or the local proxy) starts late or restarts; gRPC's
    // default backoff grows to 120 s.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 5000,
  };
  if (opts.authority) channelOptions['grpc.default_authority'] = opts.authority;
  const Greeter = loadGreeter();
  const client = new Greeter(opts.serverAddr, grpc.credentials.createInsecure(), channelOptions) as unknown as GreeterClient;
  const name = opts.name ?? hostname();
  const header = opts.header && opts.header.share > 0 ? opts.header : undefined;
  const tagged = header ? new grpc.Metadata() : undefined;
  if (header) tagged!.set(header.name, header.value);
  let calls = 0;

  let current: Interval = emptyInterval(!!header);
  let intervalStart = performance.now();
  let inFlight = 0;
  let stopped = false;
  let pacer: Pacer | undefined;
  let summaryTimer: NodeJS.Timeout | undefined;
  let onIdle: (() => void) | undefined;

  const emit = ({ final }: { final: boolean }): Summary => {
    const t = performance.now();
    const iv = current;
    current = emptyInterval(!!header);
    const s = summarize(iv, new Date(), t - intervalStart, final);
    intervalStart = t;
    opts.onSummary(s, { skipped: iv.skipped });
    return s;
  };

  const callOnce = () => {
    if (inFlight >= opts.concurrency) {
      current.skipped += 1;
      return;
    }
    inFlight += 1;
    const t0 = performance.now();
    const withHeader = header !== undefined && carriesHeader(calls, header.share);
    calls += 1;
    const done = (err: grpc.ServiceError | null, reply?: HelloReply) => {
      inFlight -= 1;
      const latencyMs = performance.now() - t0;
      const group = header ? { header: withHeader } : {};
      if (err || !reply) {
        const version = trailer(err?.metadata, SERVED_BY_VERSION);
        const pod = trailer(err?.metadata, SERVED_BY_POD);
        record(current, { ok: false, status: err ? statusName(err.code) : 'UNKNOWN', latencyMs, ...group, ...(version ? { version } : {}), ...(pod ? { pod } : {}) });
      } else record(current, { ok: true, version: reply.version, pod: reply.pod, latencyMs, ...group });
      if (inFlight === 0) onIdle?.();
    };
    const options = { deadline: Date.now() + opts.deadlineMs };
    if (withHeader) client.SayHello({ name }, tagged!, options, done);
    else client.SayHello({ name }, options, done);
  };

  const begin = () => {
    intervalStart = performance.now();
    current = emptyInterval(!!header);
    summaryTimer = setInterval(() => emit({ final: false }), opts.intervalMs);
    pacer = openLoop(opts.rate, callOnce);
  };

  let notReady: ((v: boolean) => void) | undefined;
  const ready = new Promise<boolean>((resolve) => {
    notReady = resolve;
    const waitedFrom = Date.now();
    const attempt = () => {
      if (stopped) return resolve(false);
      client.waitForReady(Date.now() + WAIT_NOTE_MS, (err) => {
        if (stopped) return resolve(false);
        if (err) {
          const state = grpc.connectivityState[client.getChannel().getConnectivityState(false)];
          log(`still waiting for ${opts.serverAddr} after ${Math.round((Date.now() - waitedFrom) / 1000)}s (${state})`);
          return attempt();
        }
        log(`connected to ${opts.serverAddr}, sending ${opts.rate} calls/s`);
        begin();
        resolve(true);
      });
    };
    log(`waiting for ${opts.serverAddr}${opts.authority ? ` (authority ${opts.authority})` : ''}`);
    attempt();
  });

  let stopping: Promise<Summary> | undefined;
  const stop = (): Promise<Summary> => {
    stopping ??= (async () => {
      stopped = true;
      notReady?.(false);
      pacer?.stop();
      if (summaryTimer) clearInterval(summaryTimer);
      if (inFlight > 0) {
        // Deadlines bound every call; the margin only guards against a lost callback.
        await new Promise<void>((resolve) => {
          const guard = setTimeout(resolve, opts.deadlineMs + 1000);
          onIdle = () => {
            clearTimeout(guard);
            resolve();
          };
        });
      }
      const s = emit({ final: true });
      client.close();
      return s;
    })();
    return stopping;
  };

  return { ready, stop };
}
