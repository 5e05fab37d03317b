// `local-mesh up`: the cluster track's Deployments and Services, as local processes.
// Servers first (each replica on a free loopback port), then the mesh proxy with the endpoint
// table the Services' selectors give, then the client pointed at the proxy: the way a meshed
// client pod's traffic goes through its sidecar.

import { manifestFiles, podEnv, readTopology, TopologyError } from '../../lib/topology.ts';
import { envOverrides, freshLog, podName, programFor, PROGRAMS, READY_MS, servicesFor, startMeshProcess, startPod, programArgs } from './pods.ts';
import { isAlive, startDetached, stopGroup, waitForLog, type Proc } from './processes.ts';
import { ensureDir, loadState, recordStarted, ROOT, saveState, type Paths, type State } from './state.ts';

export async function up(p: Paths, out: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<State> {
  const existing = loadState(p);
  if (existing) {
    const dead = existing.processes.filter((x) => !isAlive(x));
    if (dead.length === 0) {
      out(`already up: ${existing.processes.length} processes (local-mesh status shows them)`);
      return existing;
    }
    out(`some processes had stopped (${dead.map((d) => d.name).join(', ')}); restarting everything`);
    for (const x of existing.processes) await stopGroup(x);
  }

  // Bad overrides are refused before anything starts.
  const serverEnv = envOverrides(env, 'LOCAL_MESH_SERVER_ENV');
  const clientEnv = envOverrides(env, 'LOCAL_MESH_CLIENT_ENV');
  const topo = readTopology(manifestFiles(p.deploy));
  const servers = topo.workloads.filter((w) => programFor(w.container.image) === 'server');
  const clients = topo.workloads.filter((w) => programFor(w.container.image) === 'client');
  if (servers.length === 0) throw new TopologyError(`${p.deploy}: no server Deployment found`);
  if (clients.length !== 1) throw new TopologyError(`${p.deploy}: expected one client Deployment, found ${clients.length}`);
  const client = clients[0]!;

  ensureDir(p);
  const state: State = {
    startedAt: new Date().toISOString(),
    processes: [],
    services: {},
    selectors: Object.fromEntries(topo.services.map((s) => [s.name, s.selector])),
    deployments: Object.fromEntries(servers.map((w) => [w.name, { workload: w, env: serverEnv }])),
  };
  const record = (x: Proc) => recordStarted(p, state, x);
  try {
    // Servers, all replicas at once.
    const pods: Array<Promise<Proc>> = [];
    for (const w of servers) {
      for (let i = 0; i < w.replicas; i++) {
        const name = podName(w.name);
        pods.push(startPod(p, { name, deployment: w.name, labels: w.labels, env: { ...podEnv(w, name), ...serverEnv } }, record));
      }
    }
    const started = await Promise.allSettled(pods);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    saveState(p, state);
    out(`servers: ${state.processes.map((x) => `${x.name} 127.0.0.1:${x.port}`).join(', ')}`);

    // Services -> endpoints, by selector, as kube-proxy and the Linkerd destination service see them.
    state.services = servicesFor(state, state.processes);
    const cname = podName(client.name);
    const cenv = podEnv(client, cname);
    const authority = cenv.SERVER_ADDR ?? 'server:50051';
    const { proc: mesh, adminPort } = await startMeshProcess(p, state, { port: 0, adminPort: 0 }, record);
    state.mesh = { port: mesh.port!, adminPort, authority };
    saveState(p, state);
    out(`mesh: proxy 127.0.0.1:${mesh.port}, admin http://127.0.0.1:${adminPort}`);

    // The client talks to the proxy but names the Service it wants, as a meshed pod would.
    const envc = { ...cenv, ...clientEnv, SERVER_ADDR: `127.0.0.1:${mesh.port}`, AUTHORITY: authority, LOG_FORMAT: 'json' };
    const cproc = startDetached({ name: 'client', args: programArgs(PROGRAMS.client), env: envc, log: freshLog(p, 'client'), cwd: ROOT });
    record(cproc);
    await waitForLog(cproc, /"byVersion"/, READY_MS);
    const overrides = Object.keys(clientEnv).length ? ` (env ${Object.entries(clientEnv).map(([k, v]) => `${k}=${v}`).join(' ')})` : '';
    out(`client: ${cname} sending to ${authority} through the mesh${overrides} (local-mesh logs -f client)`);
    return state;
  } catch (e) {
    for (const x of [...state.processes].reverse()) await stopGroup(x);
    throw e;
  }
}
