// The demo.v1.Greeter handlers: every reply names the version and pod that served it, and so do
// the trailers of every answer, failed ones included (x-served-by-version, x-served-by-pod), so
// a client can tell who failed a call. Optional faults (added latency, a share of calls failed
// with a chosen status) apply to both methods, before the first reply, so a demo can show a bad
// version in the client's counts.
import * as grpc from '@grpc/grpc-js';
import { SERVED_BY_POD, SERVED_BY_VERSION, type HelloReply, type HelloRequest, type StreamHellosRequest } from '../proto/load.ts';

export interface Identity {
  version: string;
  pod: string;
}

export interface Faults {
  /** Added before answering, ms. 0 = off. */
  latencyMs: number;
  /** Share of calls failed, 0..1. 0 = off. */
  errorRate: number;
  errorCode: grpc.status;
}

/** Counts Greeter calls between their start and their end, for the drain on shutdown. */
export interface CallTracker {
  begin(): void;
  end(): void;
}

// Generous but bounded, so one request cannot hold a stream open for hours.
const MAX_STREAM_COUNT = 10_000;
const MAX_STREAM_INTERVAL_MS = 60_000;

function reply(id: Identity, name: string): HelloReply {
  return { message: `Hello ${name || 'stranger'} from ${id.pod} (${id.version})`, version: id.version, pod: id.pod };
}

function servedBy(id: Identity): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(SERVED_BY_VERSION, id.version);
  md.set(SERVED_BY_POD, id.pod);
  return md;
}

function injectedError(f: Faults, id: Identity): grpc.ServiceError | undefined {
  if (f.errorRate <= 0 || Math.random() >= f.errorRate) return undefined;
  const e = new Error(`injected fault (${grpc.status[f.errorCode]})`) as grpc.ServiceError;
  e.code = f.errorCode;
  e.details = e.message;
  e.metadata = servedBy(id);
  return e;
}

/** Run `fn` after the fault latency unless the call is cancelled first. */
function afterLatency(call: { on(ev: 'cancelled', fn: () => void): unknown }, f: Faults, fn: () => void, cancelled: () => void): void {
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  call.on('cancelled', () => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    cancelled();
  });
  const go = () => {
    if (done) return;
    done = true;
    fn();
  };
  if (f.latencyMs > 0) timer = setTimeout(go, f.latencyMs);
  else go();
}

export function greeterHandlers(id: Identity, faults: Faults, tracker: CallTracker): grpc.UntypedServiceImplementation {
  const sayHello: grpc.handleUnaryCall<HelloRequest, HelloReply> = (call, callback) => {
    tracker.begin();
    afterLatency(
      call,
      faults,
      () => {
        const err = injectedError(faults, id);
        if (err) callback(err);
        else callback(null, reply(id, call.request.name), servedBy(id));
        tracker.end();
      },
      () => tracker.end(),
    );
  };

  const streamHellos: grpc.handleServerStreamingCall<StreamHellosRequest, HelloReply> = (call) => {
    const { name, count, intervalMs } = call.request;
    if (count > MAX_STREAM_COUNT || intervalMs > MAX_STREAM_INTERVAL_MS) {
      const details = `count must be <= ${MAX_STREAM_COUNT} and interval_ms <= ${MAX_STREAM_INTERVAL_MS}`;
      call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details, metadata: servedBy(id) });
      return;
    }
    tracker.begin();
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      if (timer) clearTimeout(timer);
      tracker.end();
    };
    afterLatency(
      call,
      faults,
      () => {
        const err = injectedError(faults, id);
        if (err) {
          call.emit('error', err);
          finish();
          return;
        }
        let sent = 0;
        const next = () => {
          if (ended) return;
          if (sent < count) {
            call.write(reply(id, name));
            sent += 1;
          }
          if (sent < count) {
            timer = setTimeout(next, intervalMs);
          } else {
            call.end(servedBy(id));
            finish();
          }
        };
        call.on('cancelled', finish);
        next();
      },
      finish,
    );
  };

  return { SayHello: sayHello, StreamHellos: streamHellos } as grpc.UntypedServiceImplementation;
}
