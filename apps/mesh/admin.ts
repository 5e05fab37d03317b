// The proxy's admin endpoint (HTTP/1.1, 127.0.0.1 only): readiness, the config in force,
// Prometheus metrics, and the verbs that change the routing table.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Split } from '../../lib/split.ts';
import { ConfigError } from './routing-table.ts';
import type { UpstreamState } from './upstreams.ts';

// The JSON bodies the admin endpoint answers with: the one definition its callers
// (scripts/local-mesh/admin-client.ts, the tests) read them by.

/** GET /config. */
export interface ConfigView {
  listen: string;
  admin: string;
  services: Record<string, EndpointView[]>;
  splits: Split[];
}

export interface EndpointView {
  address: string;
  pod: string;
  /** 'unknown' until the pool has heard of the address. */
  state: UpstreamState | 'unknown';
  inflight: number;
  rttMs: number;
  /** Why the endpoint is not ready, when it is not. */
  lastError?: string;
}

/** POST /apply: the splits now in force, and `manifests[i]`, the document `applied[i]` came from. */
export interface ApplyAnswer {
  applied: Split[];
  manifests: string[];
}

/** POST /delete. */
export interface DeleteAnswer {
  deleted: Split[];
}

/** PUT /endpoints: how many endpoints each service now has. */
export interface EndpointsAnswer {
  services: Record<string, number>;
}

/** Any refusal (400 bad input, 404, 413, 500). */
export interface ErrorAnswer {
  error: string;
}

export interface AdminHandlers {
  ready(): { ok: true } | { ok: false; reason: string };
  config(): ConfigView;
  metrics(): string;
  /** Each returns the JSON body of a 200; a ConfigError becomes a 400. */
  apply(yamlText: string): ApplyAnswer;
  delete(yamlText: string): DeleteAnswer;
  setEndpoints(json: unknown): EndpointsAnswer;
}

const MAX_BODY = 1 << 20;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new HttpError(413, `body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, JSON.stringify(body) + '\n', 'application/json');

async function handle(h: AdminHandlers, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const route = `${req.method} ${path}`;
  switch (route) {
    case 'GET /ready': {
      const r = h.ready();
      return send(res, r.ok ? 200 : 503, r.ok ? 'ready\n' : `not ready: ${r.reason}\n`, 'text/plain');
    }
    case 'GET /config':
      return json(res, 200, h.config());
    case 'GET /metrics':
      return send(res, 200, h.metrics(), 'text/plain; version=0.0.4');
    case 'POST /apply':
      return json(res, 200, h.apply(await readBody(req)));
    case 'POST /delete':
      return json(res, 200, h.delete(await readBody(req)));
    case 'PUT /endpoints': {
      const text = await readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (e) {
        throw new ConfigError(`endpoints: body is not JSON (${(e as Error).message})`);
      }
      return json(res, 200, h.setEndpoints(body));
    }
    default:
      throw new HttpError(404, `no such admin route: ${route} (GET /ready /config /metrics, POST /apply /delete, PUT /endpoints)`);
  }
}

export async function startAdmin(port: number, h: AdminHandlers): Promise<{ port: number; stopListening(): void; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    handle(h, req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : e instanceof ConfigError ? 400 : 500;
      if (!res.headersSent) json(res, status, { error: e instanceof Error ? e.message : String(e) } satisfies ErrorAnswer);
    });
  });
  // Loopback only, whatever the caller asks: the admin verbs change routing.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    // Free the port for a successor; requests on open connections are still answered.
    stopListening: () => {
      server.close();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
