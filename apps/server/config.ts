// The server's environment, read into ServerOptions. See README for the variables.
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { numberVar, oneOfVar, stringVar, type Env } from '../../lib/config.ts';
import { DEFAULT_GRACE_MS, type ServerOptions } from './server.ts';

// Status names a fault may use; OK is not a fault.
const FAULT_STATUS_NAMES = Object.keys(grpc.status).filter((k) => Number.isNaN(Number(k)) && k !== 'OK');

// Versions and pods appear in the client's text summary as `name=count`, split on spaces.
const TOKEN = /^[A-Za-z0-9._:-]+$/;
const TOKEN_WANTED = 'letters, digits, ".", "_", ":" or "-"';

export function readServerConfig(env: Env): ServerOptions {
  const opts: ServerOptions = {
    version: stringVar(env, 'VERSION', 'v1', TOKEN, TOKEN_WANTED),
    pod: stringVar(env, 'POD_NAME', hostname(), TOKEN, TOKEN_WANTED),
    host: stringVar(env, 'HOST', '0.0.0.0', /^[^\s]+$/, 'a host name or IP address'),
    port: numberVar(env, 'PORT', { integer: true, min: 0, max: 65535 }, 50051),
    latencyMs: numberVar(env, 'FAULT_LATENCY_MS', { integer: true, min: 0 }, 0),
    errorRate: numberVar(env, 'FAULT_ERROR_RATE', { min: 0, max: 1 }, 0),
    errorCode: oneOfVar(env, 'FAULT_ERROR_CODE', FAULT_STATUS_NAMES, 'UNAVAILABLE'),
    graceMs: numberVar(env, 'GRACE_MS', { integer: true, min: 0 }, DEFAULT_GRACE_MS),
  };
  const age = numberVar(env, 'MAX_CONNECTION_AGE_MS', { integer: true, above: 0 });
  if (age !== undefined) opts.maxConnectionAgeMs = age;
  return opts;
}
