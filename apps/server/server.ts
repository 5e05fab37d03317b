// The demo server: demo.v1.Greeter plus grpc.health.v1 and server reflection (so grpcurl and
// kubelet's native gRPC probes work), with a bounded, graceful drain.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { greeterServiceName, loadGreeter, loadGreeterPackageDefinition } from '../proto/load.ts';
import { greeterHandlers, type Faults } from './greeter.ts';

export interface ServerOptions {
  version: string;
  pod: string;
  host: string;
  /** 0 picks a free port; the handle says which. */
  port: number;
  /** Servers close connections older than this so clients re-resolve and find new pods. */
  maxConnectionAgeMs?: number;
  latencyMs?: number;
  errorRate?: number;
  /** gRPC status code or its name (e.g. 'UNAVAILABLE'); default UNAVAILABLE. */
  errorCode?: grpc.status | string;
  /** Default grace for `shutdown()`, ms (default 10000). */
  graceMs?: number;
}

export interface ShutdownReport {
  /** Greeter calls in flight when the shutdown began. */
  inFlight: number;
  /** Greeter calls still running when the grace ran out and were cancelled. */
  cutOff: number;
}

export interface RunningServer {
  port: number;
  /** `host:port` as bound (IPv6 hosts in brackets). */
  address: string;
  /** Greeter calls in flight now. */
  inFlight(): number;
  /**
   * Health NOT_SERVING, refuse new calls (GOAWAY), let calls in flight finish, cancel whatever
   * is left after `graceMs`. Idempotent: later calls return the same promise.
   */
  shutdown(graceMs?: number): Promise<ShutdownReport>;
}

export const DEFAULT_GRACE_MS = 10_000;

export function statusCode(code: grpc.status | string): grpc.status {
  if (typeof code === 'number') return code;
  const n = (grpc.status as unknown as Record<string, number | undefined>)[code];
  if (typeof n !== 'number') throw new Error(`unknown gRPC status name ${JSON.stringify(code)}`);
  return n;
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const faults: Faults = {
    latencyMs: opts.latencyMs ?? 0,
    errorRate: opts.errorRate ?? 0,
    errorCode: statusCode(opts.errorCode ?? grpc.status.UNAVAILABLE),
  };
  let inFlight = 0;
  const tracker = { begin: () => void (inFlight += 1), end: () => void (inFlight -= 1) };

  const channelOptions: grpc.ServerOptions = {};
  if (opts.maxConnectionAgeMs !== undefined) channelOptions['grpc.max_connection_age_ms'] = opts.maxConnectionAgeMs;
  const server = new grpc.Server(channelOptions);

  // One parse serves both: reflection needs the health proto in it too, the Greeter does not mind.
  const definition = loadGreeterPackageDefinition([healthProtoPath]);
  server.addService(loadGreeter(definition).service, greeterHandlers({ version: opts.version, pod: opts.pod }, faults, tracker));
  const health = new HealthImplementation({ '': 'SERVING', [greeterServiceName]: 'SERVING' });
  health.addToServer(server);
  new ReflectionService(definition).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(formatHostPort(opts.host, opts.port), grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });

  let stopping: Promise<ShutdownReport> | undefined;
  const shutdown = (graceMs = opts.graceMs ?? DEFAULT_GRACE_MS): Promise<ShutdownReport> => {
    stopping ??= new Promise((resolve) => {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(greeterServiceName, 'NOT_SERVING');
      const report: ShutdownReport = { inFlight, cutOff: 0 };
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(report);
      };
      // Long-lived streams (a health Watch, a long StreamHellos) are cut here, not waited for.
      const timer = setTimeout(() => {
        report.cutOff = inFlight;
        server.forceShutdown();
        finish();
      }, graceMs);
      server.tryShutdown(finish);
    });
    return stopping;
  };

  return { port, address: formatHostPort(opts.host, port), inFlight: () => inFlight, shutdown };
}
