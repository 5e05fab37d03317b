// The client's environment, read into ClientOptions (minus the callbacks). See README.
import { numberVar, oneOfVar, stringVar, type Env } from '../../lib/config.ts';
import type { LogFormat } from '../../lib/summary.ts';
import type { ClientOptions } from './client.ts';
import { isGrpcTarget } from './target.ts';

export type ClientConfig = Omit<ClientOptions, 'onSummary' | 'onLog'> & { logFormat: LogFormat };

export function readClientConfig(env: Env): ClientConfig {
  const cfg: ClientConfig = {
    serverAddr: stringVar(env, 'SERVER_ADDR', 'server:50051', isGrpcTarget, 'a gRPC target such as server:50051 or dns:///server:50051'),
    rate: numberVar(env, 'RATE', { above: 0 }, 20),
    concurrency: numberVar(env, 'CONCURRENCY', { integer: true, min: 1 }, 100),
    deadlineMs: numberVar(env, 'DEADLINE_MS', { integer: true, above: 0 }, 2000),
    intervalMs: numberVar(env, 'INTERVAL_MS', { integer: true, above: 0 }, 2000),
    logFormat: oneOfVar(env, 'LOG_FORMAT', ['text', 'json'] as const, 'text'),
  };
  const authority = stringVar(env, 'AUTHORITY', undefined, /^\S+$/, 'a host:port such as server:50051');
  if (authority !== undefined) cfg.authority = authority;
  const share = numberVar(env, 'HEADER_SHARE', { min: 0, max: 1 }, 0);
  const header = stringVar(env, 'HEADER', 'x-canary:true', HEADER_RE, HEADER_WANTED);
  if (share > 0) {
    const m = HEADER_RE.exec(header)!;
    cfg.header = { name: m[1]!.toLowerCase(), value: m[2]!, share };
  }
  return cfg;
}

// NAME:VALUE, no spaces (LOCAL_MESH_CLIENT_ENV splits on them): a metadata key gRPC lets an
// application send (not grpc-*, not binary -bin), and a printable ASCII value.
const HEADER_RE = /^(?!grpc-)([0-9A-Za-z_.-]+(?<!-bin)):[ ]*([\x21-\x7e]+)$/;
const HEADER_WANTED = 'NAME:VALUE such as x-canary:true (a metadata key not starting grpc- or ending -bin)';
