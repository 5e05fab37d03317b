// A gRPC service the proxy has never heard of (raw bytes, no proto), to show it passes any
// method, metadata, trailers, deadline, cancellation, error and streaming shape through.

import * as grpc from '@grpc/grpc-js';

const raw = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
});

const probeService = {
  Unary: raw('/probe.v1.Probe/Unary', false, false),
  Hang: raw('/probe.v1.Probe/Hang', false, false),
  Collect: raw('/probe.v1.Probe/Collect', true, false),
  Count: raw('/probe.v1.Probe/Count', false, true),
  Echo: raw('/probe.v1.Probe/Echo', true, true),
} satisfies grpc.ServiceDefinition;

export const ProbeClient = grpc.makeGenericClientConstructor(probeService, 'Probe');
export type Probe = InstanceType<typeof ProbeClient> & Record<keyof typeof probeService, (...a: unknown[]) => any>;

/** What the server saw, for the tests to check. */
export interface ProbeLog {
  deadlines: number[];
  /** Hang calls that reached the server, by request text. */
  started: string[];
  cancelled: string[];
  metadata: grpc.Metadata[];
}

function remaining(call: { getDeadline(): grpc.Deadline }): number {
  const d = call.getDeadline();
  const t = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(t) ? t - Date.now() : Infinity;
}

export async function startProbe(): Promise<{ address: string; log: ProbeLog; stop(): Promise<void> }> {
  const log: ProbeLog = { deadlines: [], started: [], cancelled: [], metadata: [] };
  const server = new grpc.Server();
  server.addService(probeService, {
    Unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      log.deadlines.push(remaining(call));
      log.metadata.push(call.metadata);
      const text = call.request.toString();
      const header = new grpc.Metadata();
      header.set('x-echo', String(call.metadata.get('x-test')[0] ?? ''));
      call.sendMetadata(header);
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', 'yes');
      trailer.set('x-blob-bin', Buffer.from([0, 1, 2, 255]));
      if (text === 'fail') {
        cb({ code: grpc.status.FAILED_PRECONDITION, details: 'nope: ünïcode %', metadata: trailer });
        return;
      }
      cb(null, call.request, trailer);
    },
    Hang(call: grpc.ServerUnaryCall<Buffer, Buffer>) {
      log.deadlines.push(remaining(call));
      log.started.push(call.request.toString());
      call.on('cancelled', () => log.cancelled.push(call.request.toString()));
    },
    Collect(call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      const parts: Buffer[] = [];
      call.on('data', (b: Buffer) => parts.push(b));
      call.on('end', () => cb(null, Buffer.concat(parts)));
    },
    Count(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      const n = Number(call.request.toString());
      for (let i = 0; i < n; i++) call.write(Buffer.from(String(i)));
      call.end();
    },
    Echo(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      call.on('data', (b: Buffer) => call.write(b));
      call.on('end', () => call.end());
      call.on('cancelled', () => log.cancelled.push('echo'));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    log,
    stop: () => new Promise<void>((r) => server.tryShutdown(() => r())).then(() => server.forceShutdown()),
  };
}
