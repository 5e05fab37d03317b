// Loads the demo's own proto at run time (no generated code). The path is resolved from this
// module, not the working directory: the image runs compiled JS from dist/apps/proto/ with the
// .proto copied next to it.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const greeterProtoPath = fileURLToPath(new URL('./demo/v1/greeter.proto', import.meta.url));

/** Fields are camelCase in JS (interval_ms -> intervalMs); unset fields read as defaults. */
const loaderOptions: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const greeterServiceName = 'demo.v1.Greeter';

/**
 * Trailers the server sets on every answer, failed ones included, naming who gave it; the
 * client counts failed calls by them. Part of the API, as the messages are.
 */
export const SERVED_BY_VERSION = 'x-served-by-version';
export const SERVED_BY_POD = 'x-served-by-pod';

export interface HelloRequest {
  name: string;
}

export interface HelloReply {
  message: string;
  version: string;
  pod: string;
}

export interface StreamHellosRequest {
  name: string;
  count: number;
  intervalMs: number;
}

/**
 * The package definition of greeter.proto plus any `extraProtoPaths` (the server adds the health
 * proto so reflection lists it too).
 */
export function loadGreeterPackageDefinition(extraProtoPaths: string[] = []): protoLoader.PackageDefinition {
  return protoLoader.loadSync([greeterProtoPath, ...extraProtoPaths], loaderOptions);
}

// Parsed once per process: every client and server start reuses it (the .proto never changes).
let defaultDefinition: protoLoader.PackageDefinition | undefined;

/**
 * The `demo.v1.Greeter` client constructor; its `.service` is the service definition a server
 * passes to `addService`. `definition` is one loadGreeterPackageDefinition made (the server
 * passes the one it also gives reflection); without it, greeter.proto alone, parsed once.
 */
export function loadGreeter(definition?: protoLoader.PackageDefinition): grpc.ServiceClientConstructor {
  definition ??= defaultDefinition ??= loadGreeterPackageDefinition();
  const root = grpc.loadPackageDefinition(definition);
  const ctor = (root.demo as grpc.GrpcObject | undefined)?.v1 as grpc.GrpcObject | undefined;
  const Greeter = ctor?.Greeter;
  if (typeof Greeter !== 'function') throw new Error(`${greeterProtoPath} does not define ${greeterServiceName}`);
  return Greeter as grpc.ServiceClientConstructor;
}
