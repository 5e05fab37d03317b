// `local-mesh up`: the cluster track's Deployments and Services, as local processes.
// Servers first (each replica on a free loopback port), then the mesh proxy with the endpoint
// table the Services' selectors give, then the client pointed at the proxy: the way a meshed
// client pod's traffic goes through its sidecar.

import { parseClientReady } from '../../lib/readiness.ts';
import { manifestFiles, podEnv, readTopology, TopologyError } from '../../lib/topology.ts';
import { envOverrides, freshLog, podName, programFor, PROGRAMS, READY_MS, servicesFor, startMeshProcess, startPod, programArgs } from './pods.ts';
import { demoProcesses, describe, stopAll } from './down.ts';
import { startDetached, STOP_GRACE_MS, stopGroup, waitForLog, type Proc } from './processes.ts';
import { clearState, ensureDir, pruneLogs, recordStarted, ROOT, saveState, tryLoadState, type Paths, type State } from './state.ts';

/**
 * Safe to run again: when everything the state names runs (and nothing else of this demo
 * does), it only says so, and prunes the logs of replicas that are gone. Otherwise (a crash,
 * a killed proxy, a damaged state) it stops whatever is left of the demo and starts afresh.
 */
export async function up(p: Paths, out: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<State> {
  const { state: existing, damaged } = tryLoadState(p);
  const { listed, strays } = demoProcesses(p, existing);
  const dead = (existing?.processes ?? []).filter((x) => !listed.includes(x));
  // Complete: an `up` killed half-way left servers but no proxy or client.
  const complete = existing?.mesh !== undefined && existing.processes.some((x) => x.name === 'client');
  if (existing && complete && dead.length === 0 && strays.length === 0) {
    const pruned = pruneLogs(p, existing.processes.map((x) => x.name));
    out(`already up: ${existing.processes.length} processes (local-mesh status shows them)${pruned.length ? `; removed ${pruned.length} logs of processes that are gone` : ''}`);
    return existing;
  }

  // Bad overrides are refused before anything starts (or anything left is stopped).
  const serverEnv = envOverrides(env, 'LOCAL_MESH_SERVER_ENV');
  const clientEnv = envOverrides(env, 'LOCAL_MESH_CLIENT_ENV');
  const topo = readTopology(manifestFiles(p.deploy));
  const servers = topo.workloads.filter((w) => programFor(w.container.image) === 'server');
  const clients = topo.workloads.filter((w) => programFor(w.container.image) === 'client');
  if (servers.length === 0) throw new TopologyError(`${p.deploy}: no server Deployment found`);
  if (clients.length !== 1) throw new TopologyError(`${p.deploy}: expected one client Deployment, found ${clients.length}`);
  const client = clients[0]!;

  if (existing || damaged || strays.length) {
    if (damaged) out(`${damaged}: starting afresh`);
    if (dead.length) out(`some processes had stopped (${describe(dead)}); starting afresh`);
    else if (existing && !complete) out('the last up did not finish; starting afresh');
    if (strays.length) out(`stopping ${strays.length} process${strays.length === 1 ? '' : 'es'} of this demo the state does not list: ${describe(strays)}`);
    await stopAll([...listed, ...strays]);
    // The splits applied belonged to the proxy that is gone; the new one starts without.
    clearState(p);
  }
  // Every process of this demo is gone now: so are the replicas the old logs belonged to.
  pruneLogs(p, []);

  ensureDir(p);
  const state: State = {
    startedAt: new Date().toISOString(),
    processes: [],
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
    const services = servicesFor(state, state.processes);
    const cname = podName(client.name);
    const cenv = podEnv(client, cname);
    const authority = cenv.SERVER_ADDR ?? 'server:50051';
    const { proc: mesh, adminPort } = await startMeshProcess(p, state, services, { port: 0, adminPort: 0 }, record);
    state.mesh = { port: mesh.port!, adminPort, authority };
    saveState(p, state);
    out(`mesh: proxy 127.0.0.1:${mesh.port}, admin http://127.0.0.1:${adminPort}`);

    // The client talks to the proxy but names the Service it wants, as a meshed pod would.
    const envc = { ...cenv, ...clientEnv, SERVER_ADDR: `127.0.0.1:${mesh.port}`, AUTHORITY: authority, LOG_FORMAT: 'json' };
    const cproc = startDetached({ name: 'client', args: programArgs(PROGRAMS.client), env: envc, log: freshLog(p, 'client'), cwd: ROOT });
    record(cproc);
    await waitForLog(cproc, parseClientReady, READY_MS);
    const overrides = Object.keys(clientEnv).length ? ` (env ${Object.entries(clientEnv).map(([k, v]) => `${k}=${v}`).join(' ')})` : '';
    out(`client: ${cname} sending to ${authority} through the mesh${overrides} (local-mesh logs -f client)`);
    return state;
  } catch (e) {
    for (const x of [...state.processes].reverse()) await stopGroup(x, STOP_GRACE_MS);
    throw e;
  }
}
