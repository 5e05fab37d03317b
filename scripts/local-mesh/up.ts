// `local-mesh up`: the cluster track's Deployments and Services, as local processes.
// Servers first (each replica on a free loopback port), then the mesh proxy with the endpoint
// table the Services' selectors give, then the client pointed at the proxy: the way a meshed
// client pod's traffic goes through its sidecar.

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { manifestFiles, podEnv, readTopology, selects, TopologyError, type Workload } from '../../lib/topology.ts';
import { isAlive, startDetached, stopGroup, waitForLog, type Proc } from './processes.ts';
import { appendHistory, ensureDir, loadState, logPath, ROOT, saveState, type Endpoint, type Paths, type State } from './state.ts';

const READY_MS = 30_000;

/** Which of our programs an image runs: the image names the Dockerfile target. */
const PROGRAMS: Record<string, string> = {
  server: join(ROOT, 'apps', 'server', 'main.ts'),
  client: join(ROOT, 'apps', 'client', 'main.ts'),
};

export function programFor(image: string | undefined): 'server' | 'client' | undefined {
  const m = /\/(server|client):[^/]+$/.exec(image ?? '');
  return m ? (m[1] as 'server' | 'client') : undefined;
}

function podName(w: Workload): string {
  // Kubernetes-like: deployment, a replica-set hash, a pod suffix.
  const id = randomBytes(4).toString('hex');
  return `${w.name}-${id.slice(0, 3)}${id.slice(3, 5)}`.slice(0, w.name.length + 6);
}

function tsxArgs(file: string): string[] {
  return ['--import', 'tsx', file];
}

export async function up(p: Paths, out: (line: string) => void): Promise<State> {
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

  const topo = readTopology(manifestFiles(p.deploy));
  const servers = topo.workloads.filter((w) => programFor(w.container.image) === 'server');
  const clients = topo.workloads.filter((w) => programFor(w.container.image) === 'client');
  if (servers.length === 0) throw new TopologyError(`${p.deploy}: no server Deployment found`);
  if (clients.length !== 1) throw new TopologyError(`${p.deploy}: expected one client Deployment, found ${clients.length}`);
  const client = clients[0]!;

  ensureDir(p);
  const state: State = { startedAt: new Date().toISOString(), processes: [], services: {} };
  const record = (x: Proc) => {
    state.processes.push(x);
    saveState(p, state);
    appendHistory(p, { event: 'started', name: x.name, pid: x.pid });
  };
  try {
    // Servers, all replicas at once.
    const pods: Array<{ proc: Proc; labels: Record<string, string> }> = [];
    for (const w of servers) {
      for (let i = 0; i < w.replicas; i++) {
        const name = podName(w);
        const log = freshLog(p, name);
        const env = { ...podEnv(w, name), PORT: '0', HOST: '127.0.0.1' };
        const proc = startDetached({ name, args: tsxArgs(PROGRAMS.server!), env, log, cwd: ROOT });
        record(proc);
        pods.push({ proc, labels: w.labels });
      }
    }
    for (const pod of pods) {
      const m = await waitForLog(pod.proc, /listening on (\S+):(\d+)/, READY_MS);
      pod.proc.port = Number(m[2]);
      saveState(p, state);
    }
    out(`servers: ${pods.map((x) => `${x.proc.name} 127.0.0.1:${x.proc.port}`).join(', ')}`);

    // Services -> endpoints, by selector, as kube-proxy and the Linkerd destination service see them.
    for (const svc of topo.services) {
      state.services[svc.name] = pods
        .filter((x) => selects(svc.selector, x.labels))
        .map((x): Endpoint => ({ address: `127.0.0.1:${x.proc.port}`, pod: x.proc.name }));
    }
    const cfgFile = join(p.dir, 'mesh-config.json');
    writeFileSync(cfgFile, JSON.stringify({ services: state.services }, null, 2) + '\n');
    const mesh = startDetached({ name: 'mesh', args: [...tsxArgs(join(ROOT, 'apps', 'mesh', 'main.ts')), '--config', cfgFile], env: {}, log: freshLog(p, 'mesh'), cwd: ROOT });
    record(mesh);
    const mm = await waitForLog(mesh, /mesh listening on 127\.0\.0\.1:(\d+) admin 127\.0\.0\.1:(\d+)/, READY_MS);
    mesh.port = Number(mm[1]);
    const adminPort = Number(mm[2]);

    // The client talks to the proxy but names the Service it wants, as a meshed pod would.
    const cname = podName(client);
    const cenv = podEnv(client, cname);
    const authority = cenv.SERVER_ADDR ?? 'server:50051';
    state.mesh = { port: mesh.port, adminPort, authority };
    saveState(p, state);
    out(`mesh: proxy 127.0.0.1:${mesh.port}, admin http://127.0.0.1:${adminPort}`);
    const env = { ...cenv, SERVER_ADDR: `127.0.0.1:${mesh.port}`, AUTHORITY: authority, LOG_FORMAT: 'json' };
    const cproc = startDetached({ name: 'client', args: tsxArgs(PROGRAMS.client!), env, log: freshLog(p, 'client'), cwd: ROOT });
    record(cproc);
    await waitForLog(cproc, /"byVersion"/, READY_MS);
    out(`client: ${cname} sending to ${authority} through the mesh (local-mesh logs -f client)`);
    return state;
  } catch (e) {
    for (const x of [...state.processes].reverse()) await stopGroup(x);
    throw e;
  }
}

function freshLog(p: Paths, name: string): string {
  const f = logPath(p, name);
  rmSync(f, { force: true });
  return f;
}
