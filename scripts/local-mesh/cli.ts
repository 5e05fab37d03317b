// `node scripts/local-mesh.mjs VERB`: the local stand-in for the kubectl steps of the cluster
// track. One line of output per fact, one line per error, exit 1 on failure, 2 on bad usage.
// This module reads the command line and hands each verb to the module that does it.

import { applyOrDelete } from './apply.ts';
import { running } from './admin-client.ts';
import { directTarget } from './direct-target.ts';
import { down } from './down.ts';
import { readEndpointTable } from './endpoint-table.ts';
import { logs } from './logs.ts';
import { restart } from './restart.ts';
import { parseEnvChanges, rolloutRestart, setEnv } from './rollout.ts';
import { paths, tryLoadState } from './state.ts';
import { status } from './status.ts';
import { up } from './up.ts';
import { UsageError } from './usage-error.ts';

export { exitCodeOf, UsageError } from './usage-error.ts';

export const USAGE = `usage: node scripts/local-mesh.mjs VERB
  up                  start the servers (from deploy/linkerd), the mesh proxy and the client;
                      nothing to do when all of them run; after a crash, stops what is left
                      and starts afresh
  apply -f FILE       apply a TrafficSplit or GRPCRoute to the mesh (like kubectl apply)
  delete -f FILE      remove the splits FILE defines (like kubectl delete)
  status [--json]     processes, the split in force, requests per backend
  logs [-f] [--json] NAME   a process's log (client: its summary lines; -f follows it, and
                      the new process after a restart)
  endpoints SERVICE   a gRPC target listing the service's replicas in a random order (for
                      direct, unmeshed calls: pick_first lands on a random one, as via kube-proxy)
  rollout restart DEPLOYMENT
                      replace a server Deployment's replicas one at a time, losing no call
                      (new one ready and in the proxy's table, old one out of it, then SIGTERM)
  set env DEPLOYMENT NAME=VALUE ... NAME- ...
                      set (or with NAME-, unset) a server Deployment's environment and
                      replace its replicas as rollout restart does, e.g.
                      set env deploy/server-v2 FAULT_ERROR_RATE=0.5, later FAULT_ERROR_RATE-;
                      deploy/client: the client is started again with it (HEADER_SHARE=0.2)
  restart NAME        start one process again on its port (NAME: mesh, client or a server pod);
                      the mesh is handed over on the same ports with the splits last applied
  down                stop everything up started, found by the state or, when that is
                      damaged or missing, by the marker each process carries (safe when
                      nothing runs)

Environment:
  LOCAL_MESH_DIR         where state, logs and history.jsonl live (default .local-mesh/)
  LOCAL_MESH_DEPLOY      the manifests up reads (default deploy/linkerd/)
  LOCAL_MESH_CLIENT_ENV  extra client env for up, over deploy/linkerd/client.yaml's,
                         e.g. LOCAL_MESH_CLIENT_ENV='RATE=500 CONCURRENCY=64'
  LOCAL_MESH_SERVER_ENV  the same for every server replica, e.g. 'FAULT_LATENCY_MS=20'`;

type Out = (line: string) => void;

export async function main(argv: string[], out: Out = (l) => process.stdout.write(l + '\n')): Promise<number> {
  const p = paths();
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'up':
      noArgs(verb, rest);
      await up(p, out);
      return 0;
    case 'down': {
      noArgs(verb, rest);
      const { state, damaged } = tryLoadState(p);
      return down(p, state, damaged, out);
    }
    case 'apply':
    case 'delete':
      return applyOrDelete(p, verb, fileArg(verb, rest), out);
    case 'status':
      return status(p, flags(verb, rest, ['--json']).has('--json'), out);
    case 'logs': {
      const f = flags(verb, rest, ['-f', '--follow', '--json'], 1);
      const name = rest.find((a) => !a.startsWith('-'));
      if (!name) throw new UsageError('logs needs a NAME (client, mesh, or a server pod or deployment)');
      return logs(p, name, f.has('-f') || f.has('--follow'), f.has('--json'), out);
    }
    case 'rollout': {
      const [sub, target, ...more] = rest;
      if (sub !== 'restart' || !target || more.length) throw new UsageError('rollout takes: restart DEPLOYMENT (e.g. rollout restart server-v1)');
      return rolloutRestart(p, target, out);
    }
    case 'set': {
      const [sub, target, ...changes] = rest;
      if (sub !== 'env' || !target) throw new UsageError('set takes: env DEPLOYMENT NAME=VALUE|NAME- ... (e.g. set env deploy/server-v2 FAULT_ERROR_RATE=0.5)');
      return setEnv(p, target, parseEnvChanges(changes), out);
    }
    case 'restart': {
      const [name, ...more] = rest;
      if (!name || more.length) throw new UsageError('restart takes one NAME (mesh, client, or a server pod)');
      return restart(p, name, out);
    }
    case 'endpoints': {
      const [svc, ...more] = rest;
      if (!svc || more.length) throw new UsageError('endpoints takes one SERVICE');
      running(p);
      const services = readEndpointTable(p);
      const eps = services[svc];
      if (!eps) throw new Error(`no service ${svc} (known: ${Object.keys(services).join(', ')})`);
      out(directTarget(eps.map((e) => e.address)));
      return 0;
    }
    case undefined:
    case '-h':
    case '--help':
      out(USAGE);
      return verb === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown verb ${JSON.stringify(verb)}`);
  }
}

function noArgs(verb: string, rest: string[]): void {
  if (rest.length) throw new UsageError(`${verb} takes no arguments, got ${rest.join(' ')}`);
}

function flags(verb: string, rest: string[], allowed: string[], positional = 0): Set<string> {
  const f = new Set(rest.filter((a) => a.startsWith('-')));
  for (const a of f) if (!allowed.includes(a)) throw new UsageError(`${verb}: unknown flag ${a}`);
  if (rest.length - f.size > positional) throw new UsageError(`${verb}: too many arguments`);
  return f;
}

function fileArg(verb: string, rest: string[]): string {
  if (rest.length !== 2 || (rest[0] !== '-f' && rest[0] !== '--filename')) throw new UsageError(`${verb} needs -f FILE`);
  return rest[1]!;
}
