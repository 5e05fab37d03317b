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

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

export const GRPC = { OK: 0, CANCELLED: 1, UNKNOWN: 2, INTERNAL: 13, UNAVAILABLE: 14, RESOURCE_EXHAUSTED: 8 } as const;

// Connection-specific headers are illegal in HTTP/2 and belong to one hop anyway (RFC 9113 8.2.2).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** Request headers for the upstream: pseudo-headers and metadata kept, hop-by-hop ones dropped. */
export function requestHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
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

export interface AttemptHooks {
  /** The endpoint answered with headers (for the latency estimate). */
  onResponse(): void;
  /**
   * The attempt is over, called exactly once. `refused`: the endpoint did not process the call
   * (RST_STREAM REFUSED_STREAM, e.g. it sent GOAWAY as we sent the call), so it can be placed
   * again; otherwise `status` is the gRPC status the client sees.
   */
  onDone(result: { status: number; refused: boolean }): void;
}

/** One client call, placed on one endpoint after another if endpoints refuse it. */
export interface Call {
  /** True once the client has gone away or had its answer. */
  finished(): boolean;
  /** Send the call over `session`. Throws, having sent nothing, if the session cannot open a stream. */
  attempt(session: ClientHttp2Session, label: string, hooks: AttemptHooks): void;
  /** Answer the client with a gRPC error instead (trailers-only). */
  fail(code: number, message: string): void;
  /** Give up placing: hand the refusal itself to the client, whose gRPC library may retry. */
  refuse(): void;
}

export interface CallOptions {
  /** Request bytes kept for replay on a refusal; a larger request is not replayed. */
  replayBytes: number;
}

/**
 * Take over a downstream stream. Nothing is read from the client until the first attempt;
 * the request body is kept (up to replayBytes) until an endpoint answers, so a refused call
 * can be sent again, whole, elsewhere.
 */
export function startCall(down: ServerHttp2Stream, headers: IncomingHttpHeaders, downEnded: boolean, opts: CallOptions): Call {
  const outHeaders = requestHeaders(headers);
  let replay: Buffer[] | null = [];
  let replayBytes = 0;
  let ended = downEnded;
  let up: ClientHttp2Stream | undefined;
  let reading = false;
  // Set once an endpoint has answered: from then on the call belongs to it.
  let committed = false;
  // Set once the client has had its final frame from us: after that a close is normal.
  let downFinished = false;
  let trailers: OutgoingHttpHeaders | undefined;
  let trailersReady = false;
  let wantTrailers = false;

  const sendTrailers = () => {
    if (downFinished || down.destroyed || down.closed) return;
    downFinished = true;
    down.sendTrailers(trailers ?? {});
  };

  const onData = (chunk: Buffer) => {
    if (replay) {
      replayBytes += chunk.length;
      if (replayBytes > opts.replayBytes) replay = null;
      else replay.push(chunk);
    }
    const u = up;
    if (u && !u.destroyed && !u.write(chunk)) {
      down.pause();
      u.once('drain', () => {
        if (up === u) down.resume();
      });
    }
  };
  const onEnd = () => {
    ended = true;
    if (up && !up.destroyed) up.end();
  };

  down.on('error', () => {});
  down.on('wantTrailers', () => {
    wantTrailers = true;
    if (trailersReady) sendTrailers();
  });
  // The client went away (cancel, deadline, broken connection): tell the endpoint.
  down.on('close', () => {
    if (downFinished) return;
    if (up && !up.closed && !up.destroyed) up.close(down.rstCode || NGHTTP2_CANCEL);
  });

  const attempt = (session: ClientHttp2Session, label: string, hooks: AttemptHooks) => {
    const again = replay ?? [];
    const u: ClientHttp2Stream = session.request(outHeaders, { endStream: ended && again.length === 0 });
    up = u;
    for (const chunk of again) u.write(chunk);
    if (ended && again.length > 0) u.end();
    if (!reading) {
      reading = true;
      down.on('data', onData);
      down.once('end', onEnd);
    } else {
      down.resume();
    }

    let status: number | undefined;
    let err: (Error & { code?: string }) | undefined;
    let broken = false;
    u.on('error', (e: Error & { code?: string }) => {
      err = e;
    });
    u.on('response', (h: IncomingHttpHeaders, flags: number) => {
      committed = true;
      replay = null;
      hooks.onResponse();
      if (down.destroyed || down.closed) return;
      if (flags & NGHTTP2_FLAG_END_STREAM) {
        // Trailers-only: the status is in these headers and nothing follows.
        status = statusOf(h);
        downFinished = true;
        down.respond(responseHeaders(h), { endStream: true });
        return;
      }
      down.respond(responseHeaders(h), { waitForTrailers: true });
      u.on('data', (chunk: Buffer) => {
        if (!down.write(chunk)) {
          u.pause();
          down.once('drain', () => u.resume());
        }
      });
      u.once('end', () => {
        if (!broken) down.end();
      });
    });
    u.on('trailers', (t: IncomingHttpHeaders) => {
      trailers = responseHeaders(t);
      status = statusOf(t);
      trailersReady = true;
      if (wantTrailers) sendTrailers();
    });

    u.on('close', () => {
      const code = u.rstCode ?? NGHTTP2_NO_ERROR;
      const downOpen = !downFinished && !down.destroyed && !down.closed;
      if (!committed && downOpen && replay && (code === NGHTTP2_REFUSED_STREAM || err?.code === 'ERR_HTTP2_GOAWAY_SESSION')) {
        // Not processed (RFC 9113 8.7): safe to send again. Hold the client's body meanwhile.
        up = undefined;
        down.pause();
        hooks.onDone({ status: GRPC.UNAVAILABLE, refused: true });
        return;
      }
      if (code !== NGHTTP2_NO_ERROR && downOpen) {
        if (err?.code === 'ERR_HTTP2_STREAM_ERROR') {
          // The endpoint reset the stream: hand the same code on.
          status = statusOfReset(code);
          down.close(code);
        } else {
          // The connection to the endpoint broke under the call.
          status = GRPC.UNAVAILABLE;
          const message = `upstream ${label} failed: ${err?.message ?? 'connection closed'}`;
          if (!down.headersSent) {
            respondGrpcError(down, status, message);
            downFinished = true;
          } else {
            broken = true;
            trailers = { 'grpc-status': String(status), 'grpc-message': encodeGrpcMessage(message) };
            trailersReady = true;
            down.end();
          }
        }
      } else if (wantTrailers) {
        trailersReady = true;
        sendTrailers();
      } else {
        trailersReady = true;
      }
      if (status === undefined) status = down.rstCode ? GRPC.CANCELLED : GRPC.UNKNOWN;
      hooks.onDone({ status, refused: false });
    });
  };

  return {
    finished: () => downFinished || down.destroyed || down.closed,
    attempt,
    fail(code, message) {
      downFinished = true;
      respondGrpcError(down, code, message);
    },
    refuse() {
      downFinished = true;
      if (!down.destroyed && !down.closed) down.close(NGHTTP2_REFUSED_STREAM);
    },
  };
}
