// Moves one call between a downstream stream (the client's) and an upstream stream (the
// endpoint's), without knowing anything about the method: headers, messages, trailers,
// trailers-only answers, deadlines (grpc-timeout is just a header) and resets pass through.

import http2, {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { OverheadSink } from './metrics.ts';

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

export const GRPC = { OK: 0, CANCELLED: 1, UNKNOWN: 2, INTERNAL: 13, UNAVAILABLE: 14, RESOURCE_EXHAUSTED: 8 } as const;

// Connection-specific headers are illegal in HTTP/2 and belong to one hop anyway (RFC 9113 8.2.2).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** Request headers for the upstream: pseudo-headers and metadata kept, hop-by-hop ones dropped. */
export function requestHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  // The common case (a gRPC client) has nothing to drop: pass the object on as it is.
  let clean = true;
  for (const k in h) {
    if (HOP_BY_HOP.has(k) || k === 'host' || (k === 'te' && h.te !== 'trailers')) {
      clean = false;
      break;
    }
  }
  if (clean) return h;
  const out: OutgoingHttpHeaders = {};
  for (const k of Object.keys(h)) {
    if (HOP_BY_HOP.has(k)) continue;
    const v = h[k];
    if (k === 'host') {
      if (h[':authority'] === undefined) out[':authority'] = v;
      continue;
    }
    // `te: trailers` is the one TE value HTTP/2 allows, and gRPC servers require it.
    if (k === 'te') {
      if (String(v).toLowerCase().includes('trailers')) out.te = 'trailers';
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** Response headers or trailers for the downstream. */
export function responseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  let clean = true;
  for (const k in h) {
    if (HOP_BY_HOP.has(k)) {
      clean = false;
      break;
    }
  }
  if (clean) return h;
  const out: OutgoingHttpHeaders = {};
  for (const k of Object.keys(h)) if (!HOP_BY_HOP.has(k)) out[k] = h[k];
  return out;
}

/** gRPC percent-encoding of grpc-message (spec: PROTOCOL-HTTP2, "Response-Headers"). */
export function encodeGrpcMessage(s: string): string {
  return s.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c));
}

/** A trailers-only gRPC error answer, for calls the proxy itself cannot place. */
export function respondGrpcError(down: ServerHttp2Stream, code: number, message: string): void {
  if (down.destroyed || down.closed || down.headersSent) return;
  down.respond(
    { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) },
    { endStream: true },
  );
  // Let whatever the client still sends drain rather than pile up.
  down.resume();
}

function statusOf(h: IncomingHttpHeaders): number {
  const v = h['grpc-status'];
  const n = Number(Array.isArray(v) ? v[0] : v);
  return v === undefined || !Number.isInteger(n) ? GRPC.UNKNOWN : n;
}

/** What a gRPC client makes of an RST_STREAM code. */
function statusOfReset(code: number): number {
  if (code === NGHTTP2_CANCEL) return GRPC.CANCELLED;
  if (code === NGHTTP2_REFUSED_STREAM) return GRPC.UNAVAILABLE;
  return GRPC.INTERNAL;
}

/**
 * Receives the outcome of each attempt. One object serves every call (no closures per call:
 * this is the hot path); `ctx` is whatever the caller attached to the attempt.
 */
export interface AttemptListener<T> {
  /** The endpoint answered with headers (for the latency estimate). */
  onResponse(ctx: T): void;
  /**
   * The attempt is over, called exactly once. `refused`: the endpoint did not process the call
   * (RST_STREAM REFUSED_STREAM, e.g. its GOAWAY crossed our request), so it may be placed
   * again; otherwise `status` is the gRPC status the client sees.
   */
  onDone(ctx: T, status: number, refused: boolean): void;
}

/**
 * One client call, placed on one endpoint after another if endpoints refuse it. Plain state;
 * the stream listeners below are module-level functions that find it through `this`.
 */
export interface Call {
  readonly down: ServerHttp2Stream;
  readonly headers: OutgoingHttpHeaders;
  /** Request body kept for a replay until an endpoint answers; null once too big or answered. */
  replay: Buffer[] | null;
  replayBytes: number;
  readonly maxReplayBytes: number;
  /** Largest request message accepted, by its gRPC length prefix (see withinLimit). */
  readonly maxMessageBytes: number;
  /** Where the request is in its gRPC framing: bytes left of the current message, */
  msgLeft: number;
  /** ... or how far into a 5-byte prefix split across chunks, and its length so far. */
  prefixAt: number;
  msgLen: number;
  /** Request chunks not yet written upstream (see onDownData). */
  held: Buffer[];
  heldBytes: number;
  flush: NodeJS.Immediate | undefined;
  /** The client has sent its whole request. */
  ended: boolean;
  up: ClientHttp2Stream | undefined;
  reading: boolean;
  /** An endpoint has answered: from then on the call belongs to it. */
  committed: boolean;
  /** The client has had its final frame from us: after that a close is normal. */
  downFinished: boolean;
  trailers: OutgoingHttpHeaders | undefined;
  trailersReady: boolean;
  wantTrailers: boolean;
  /** performance.now() when the call's headers arrived; the start of the request leg. */
  readonly receivedAt: number;
  /** When the endpoint's answer arrived (0: not yet, or the answer is ours, not the endpoint's). */
  answeredAt: number;
  /** Where the proxy's own time per call goes; each leg is reported once. */
  readonly overhead: OverheadSink | undefined;
  requestTimed: boolean;
}

interface Attempt {
  call: Call;
  label: string;
  listener: AttemptListener<unknown>;
  ctx: unknown;
  status: number | undefined;
  err: (Error & { code?: string }) | undefined;
  /** The connection broke mid-answer: trailers are ours, not the endpoint's. */
  broken: boolean;
}

const CALL = Symbol('mesh.call');
const ATTEMPT = Symbol('mesh.attempt');
type Down = ServerHttp2Stream & { [CALL]: Call };
type Up = ClientHttp2Stream & { [ATTEMPT]: Attempt };

function sendTrailers(c: Call): void {
  if (c.downFinished || c.down.destroyed || c.down.closed) return;
  c.downFinished = true;
  c.down.sendTrailers(c.trailers ?? {});
  if (c.answeredAt > 0) c.overhead?.response(performance.now() - c.answeredAt);
}

// Request chunks are held until the end of the I/O callback that brought them: if the
// client's END_STREAM came in the same read (every unary call), the chunk and the end go to
// the endpoint as one DATA frame with END_STREAM in one write with the HEADERS, instead of a
// second write with an empty DATA frame. A stream that goes on gets them at setImmediate.
const HOLD_MAX_BYTES = 16 * 1024;

function onDownData(this: Down, chunk: Buffer): void {
  const c = this[CALL];
  if (!withinLimit(c, chunk) && refuseTooBig(c, this)) return;
  if (c.replay) {
    c.replayBytes += chunk.length;
    if (c.replayBytes > c.maxReplayBytes) c.replay = null;
    else c.replay.push(chunk);
  }
  if (!c.up) return;
  c.held.push(chunk);
  c.heldBytes += chunk.length;
  if (c.heldBytes > HOLD_MAX_BYTES) writeHeld(c);
  else c.flush ??= setImmediate(writeHeld, c);
}

/**
 * Follow the gRPC length prefixes (a flag byte, then a 4-byte big-endian length) through the
 * request; false as soon as one declares a message larger than the limit. Unary calls bring
 * the whole prefix in their one chunk: one comparison per call.
 */
function withinLimit(c: Call, chunk: Buffer): boolean {
  const n = chunk.length;
  let i = 0;
  while (i < n) {
    if (c.msgLeft > 0) {
      const take = Math.min(c.msgLeft, n - i);
      c.msgLeft -= take;
      i += take;
    } else if (c.prefixAt === 0 && n - i >= 5) {
      c.msgLeft = chunk.readUInt32BE(i + 1);
      if (c.msgLeft > c.maxMessageBytes) return false;
      i += 5;
    } else {
      if (c.prefixAt > 0) c.msgLen = c.msgLen * 256 + chunk[i]!;
      i += 1;
      if (++c.prefixAt === 5) {
        c.msgLeft = c.msgLen;
        c.prefixAt = 0;
        c.msgLen = 0;
        if (c.msgLeft > c.maxMessageBytes) return false;
      }
    }
  }
  return true;
}

/**
 * A request message over the limit: if no endpoint has answered yet, the proxy answers
 * RESOURCE_EXHAUSTED itself (as a gRPC server would) and cancels the attempt, so the
 * endpoint never gets the rest. Once an endpoint has answered, the call is its to refuse.
 */
function refuseTooBig(c: Call, down: Down): boolean {
  if (c.committed) {
    c.msgLeft = Infinity; // stop looking; pass the rest through
    return false;
  }
  const size = c.msgLeft;
  down.off('data', onDownData);
  c.replay = null;
  c.held = [];
  c.heldBytes = 0;
  if (c.flush) clearImmediate(c.flush);
  c.flush = undefined;
  failCall(c, GRPC.RESOURCE_EXHAUSTED, `request message of ${size} bytes is larger than the proxy's limit of ${c.maxMessageBytes} bytes`);
  const u = c.up as Up | undefined;
  if (u) {
    u[ATTEMPT].status = GRPC.RESOURCE_EXHAUSTED;
    if (!u.destroyed && !u.closed) u.close(NGHTTP2_CANCEL);
  }
  return true;
}

function writeHeld(c: Call): void {
  if (c.flush) clearImmediate(c.flush);
  c.flush = undefined;
  const u = c.up;
  const chunks = c.held;
  c.held = [];
  c.heldBytes = 0;
  if (!u || u.destroyed) return;
  let ok = true;
  for (const chunk of chunks) ok = u.write(chunk);
  if (!c.requestTimed && chunks.length > 0) timeRequest(c);
  if (!ok) {
    c.down.pause();
    u.once('drain', onUpDrain);
  }
}

function timeRequest(c: Call): void {
  c.requestTimed = true;
  c.overhead?.request(performance.now() - c.receivedAt);
}

function onUpDrain(this: Up): void {
  const c = this[ATTEMPT].call;
  if (c.up === this) c.down.resume();
}

function onDownEnd(this: Down): void {
  const c = this[CALL];
  c.ended = true;
  writeHeld(c);
  if (c.up && !c.up.destroyed) c.up.end();
}

function onDownWantTrailers(this: Down): void {
  const c = this[CALL];
  c.wantTrailers = true;
  if (c.trailersReady) sendTrailers(c);
}

// The client went away (cancel, deadline, broken connection): tell the endpoint.
function onDownClose(this: Down): void {
  const c = this[CALL];
  if (c.downFinished) return;
  if (c.up && !c.up.closed && !c.up.destroyed) c.up.close(this.rstCode || NGHTTP2_CANCEL);
}

function ignore(): void {}

function onUpError(this: Up, e: Error & { code?: string }): void {
  this[ATTEMPT].err = e;
}

function onUpResponse(this: Up, h: IncomingHttpHeaders, flags: number): void {
  const a = this[ATTEMPT];
  const c = a.call;
  c.answeredAt = performance.now();
  c.committed = true;
  c.replay = null;
  a.listener.onResponse(a.ctx);
  const down = c.down;
  if (down.destroyed || down.closed) return;
  if (flags & NGHTTP2_FLAG_END_STREAM) {
    // Trailers-only: the status is in these headers and nothing follows.
    a.status = statusOf(h);
    c.downFinished = true;
    down.respond(responseHeaders(h), { endStream: true });
    c.overhead?.response(performance.now() - c.answeredAt);
    return;
  }
  down.respond(responseHeaders(h), { waitForTrailers: true });
  this.on('data', onUpData);
  this.once('end', onUpEnd);
}

function onUpData(this: Up, chunk: Buffer): void {
  const down = this[ATTEMPT].call.down;
  if (!down.write(chunk)) {
    this.pause();
    down.once('drain', onDownDrain);
  }
}

function onDownDrain(this: Down): void {
  this[CALL].up?.resume();
}

function onUpEnd(this: Up): void {
  const a = this[ATTEMPT];
  if (!a.broken) a.call.down.end();
}

function onUpTrailers(this: Up, t: IncomingHttpHeaders): void {
  const a = this[ATTEMPT];
  const c = a.call;
  c.trailers = responseHeaders(t);
  a.status = statusOf(t);
  c.trailersReady = true;
  if (c.wantTrailers) sendTrailers(c);
}

function onUpClose(this: Up): void {
  const a = this[ATTEMPT];
  const c = a.call;
  const down = c.down;
  const code = this.rstCode ?? NGHTTP2_NO_ERROR;
  const downOpen = !c.downFinished && !down.destroyed && !down.closed;
  if (!c.committed && downOpen && c.replay && (code === NGHTTP2_REFUSED_STREAM || a.err?.code === 'ERR_HTTP2_GOAWAY_SESSION')) {
    // Not processed (RFC 9113 8.7): safe to send again. Hold the client's body meanwhile.
    c.up = undefined;
    // Whatever was held is in the replay, which the next attempt sends first.
    if (c.flush) clearImmediate(c.flush);
    c.flush = undefined;
    c.held = [];
    c.heldBytes = 0;
    down.pause();
    a.listener.onDone(a.ctx, GRPC.UNAVAILABLE, true);
    return;
  }
  if (code !== NGHTTP2_NO_ERROR && downOpen) {
    if (a.err?.code === 'ERR_HTTP2_STREAM_ERROR') {
      // The endpoint reset the stream: hand the same code on.
      a.status = statusOfReset(code);
      down.close(code);
    } else {
      // The connection to the endpoint broke under the call.
      a.status = GRPC.UNAVAILABLE;
      const message = `upstream ${a.label} failed: ${a.err?.message ?? 'connection closed'}`;
      if (!down.headersSent) {
        respondGrpcError(down, a.status, message);
        c.downFinished = true;
      } else {
        a.broken = true;
        c.answeredAt = 0;
        c.trailers = { 'grpc-status': String(a.status), 'grpc-message': encodeGrpcMessage(message) };
        c.trailersReady = true;
        down.end();
      }
    }
  } else {
    c.trailersReady = true;
    if (c.wantTrailers) sendTrailers(c);
  }
  a.listener.onDone(a.ctx, a.status ?? (down.rstCode ? GRPC.CANCELLED : GRPC.UNKNOWN), false);
}

/**
 * Take over a downstream stream. Nothing is read from the client until the first attempt;
 * the request body is kept (up to maxReplayBytes) until an endpoint answers, so a refused
 * call can be sent again, whole, elsewhere.
 */
export function startCall(
  down: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  downEnded: boolean,
  maxReplayBytes: number,
  maxMessageBytes = Infinity,
  receivedAt = performance.now(),
  overhead?: OverheadSink,
): Call {
  const c: Call = {
    down,
    headers: requestHeaders(headers),
    replay: [],
    replayBytes: 0,
    maxReplayBytes,
    maxMessageBytes,
    msgLeft: 0,
    prefixAt: 0,
    msgLen: 0,
    held: [],
    heldBytes: 0,
    flush: undefined,
    ended: downEnded,
    up: undefined,
    reading: false,
    committed: false,
    downFinished: false,
    trailers: undefined,
    trailersReady: false,
    wantTrailers: false,
    receivedAt,
    answeredAt: 0,
    overhead,
    requestTimed: false,
  };
  (down as Down)[CALL] = c;
  down.on('error', ignore);
  down.on('wantTrailers', onDownWantTrailers);
  down.on('close', onDownClose);
  return c;
}

/** True once the client has gone away or had its answer. */
export function callFinished(c: Call): boolean {
  return c.downFinished || c.down.destroyed || c.down.closed;
}

/** Send the call over `session`. Throws, having sent nothing, if the session cannot open a stream. */
export function attempt<T>(c: Call, session: ClientHttp2Session, label: string, listener: AttemptListener<T>, ctx: T): void {
  const again = c.replay ?? [];
  const u = session.request(c.headers, { endStream: c.ended && again.length === 0 }) as Up;
  u[ATTEMPT] = { call: c, label, listener: listener as AttemptListener<unknown>, ctx, status: undefined, err: undefined, broken: false };
  c.up = u;
  if (!c.requestTimed && c.ended && again.length === 0) timeRequest(c);
  for (const chunk of again) u.write(chunk);
  if (c.ended && again.length > 0) u.end();
  u.on('error', onUpError);
  u.on('response', onUpResponse);
  u.on('trailers', onUpTrailers);
  u.on('close', onUpClose);
  if (!c.reading) {
    c.reading = true;
    c.down.on('data', onDownData);
    c.down.once('end', onDownEnd);
  } else {
    c.down.resume();
  }
}

/** Answer the client with a gRPC error instead (trailers-only). */
export function failCall(c: Call, code: number, message: string): void {
  c.downFinished = true;
  respondGrpcError(c.down, code, message);
}

/** Give up placing: hand the refusal itself to the client, whose gRPC library may retry. */
export function refuseCall(c: Call): void {
  c.downFinished = true;
  if (!c.down.destroyed && !c.down.closed) c.down.close(NGHTTP2_REFUSED_STREAM);
}
