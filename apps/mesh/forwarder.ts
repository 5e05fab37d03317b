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
import type { Duplex } from 'node:stream';

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

/**
 * Copy body chunks with backpressure, without stream.pipe()'s bookkeeping (it showed in
 * profiles: two pipes per call). Ending is left to the caller, who knows about trailers.
 */
function relay(src: Duplex, dst: Duplex, onEnd: () => void): void {
  src.on('data', (chunk: Buffer) => {
    if (!dst.write(chunk)) {
      src.pause();
      dst.once('drain', () => src.resume());
    }
  });
  src.once('end', onEnd);
}

export interface ForwardHooks {
  /** Upstream answered with headers (for the latency estimate). */
  onResponse(): void;
  /** The call is over; `status` is the gRPC status the client sees. Called exactly once. */
  onDone(status: number): void;
}

/**
 * Start the call on `session` and wire both streams together. Throws (having touched nothing)
 * if the session cannot open a stream, so the caller can place the call elsewhere.
 */
export function forward(
  down: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  downEnded: boolean,
  session: ClientHttp2Session,
  label: string,
  hooks: ForwardHooks,
): void {
  const up: ClientHttp2Stream = session.request(requestHeaders(headers), { endStream: downEnded });
  let status: number | undefined;
  let upErr: (Error & { code?: string }) | undefined;
  let upTrailers: OutgoingHttpHeaders | undefined;
  let upSettled = false;
  let upFailed = false;
  let wantTrailers = false;
  // Set once the downstream has had its final frame from us: after that a close is normal.
  let downFinished = false;

  const sendTrailers = () => {
    if (downFinished || down.destroyed || down.closed) return;
    downFinished = true;
    down.sendTrailers(upTrailers ?? {});
  };

  up.on('error', (e: Error & { code?: string }) => {
    upErr = e;
  });
  down.on('error', () => {});
  if (!downEnded) relay(down, up, () => up.end());

  up.on('response', (h: IncomingHttpHeaders, flags: number) => {
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
    relay(up, down, () => {
      if (!upFailed) down.end();
    });
  });
  up.on('trailers', (t: IncomingHttpHeaders) => {
    upTrailers = responseHeaders(t);
    status = statusOf(t);
    if (wantTrailers) sendTrailers();
  });
  down.on('wantTrailers', () => {
    wantTrailers = true;
    if (upTrailers || upSettled) sendTrailers();
  });

  up.on('close', () => {
    upSettled = true;
    if (up.rstCode !== undefined && up.rstCode !== NGHTTP2_NO_ERROR && !downFinished && !down.destroyed && !down.closed) {
      if (upErr?.code === 'ERR_HTTP2_STREAM_ERROR') {
        // The endpoint reset the stream: hand the same code on (REFUSED_STREAM lets the client retry).
        status = statusOfReset(up.rstCode);
        down.close(up.rstCode);
      } else {
        // The connection to the endpoint broke under the call.
        status = GRPC.UNAVAILABLE;
        const message = `upstream ${label} failed: ${upErr?.message ?? 'connection closed'}`;
        if (!down.headersSent) {
          respondGrpcError(down, status, message);
          downFinished = true;
        } else {
          upFailed = true;
          upTrailers = { 'grpc-status': String(status), 'grpc-message': encodeGrpcMessage(message) };
          down.end();
        }
      }
    } else if (wantTrailers) {
      sendTrailers();
    }
    if (status === undefined) status = down.rstCode ? GRPC.CANCELLED : GRPC.UNKNOWN;
    hooks.onDone(status);
  });

  // The client went away (cancel, deadline, broken connection): tell the endpoint.
  down.on('close', () => {
    if (downFinished || upSettled) return;
    status = GRPC.CANCELLED;
    up.close(down.rstCode || NGHTTP2_CANCEL);
  });
}
