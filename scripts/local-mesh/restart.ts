// `local-mesh restart NAME`: start one process again on the same port, as the kubelet restarts
// a container in place (same pod IP, same port). NAME is `mesh`, `client` or a server pod.
//
// The proxy is handed over rather than bounced: the old one stops listening (SIGUSR2) but
// keeps serving the connections it has; the new one starts on the same ports with the splits
// last applied; then the old one gets SIGTERM and sends GOAWAY, so the client's next call
// opens a connection to the new proxy while the old one finishes the calls it holds.

import { describeSplit } from '../../lib/split.ts';
import { parseClientReady, parseServerListening } from '../../lib/readiness.ts';
import { config, running } from './admin-client.ts';
import { readEndpointTable } from './endpoint-table.ts';
import { graceOf, READY_MS, rotateLog, startMeshProcess } from './pods.ts';
import { isAlive, startDetached, stopGroup, waitForLog, type Proc } from './processes.ts';
import { appendHistory, recordStarted, recordStopped, ROOT, type Paths, type State } from './state.ts';

/** The proxy drains for up to 5 s on SIGTERM (apps/mesh/main.ts). */
const MESH_DRAIN_MS = 5000;

export async function restart(p: Paths, name: string, out: (line: string) => void): Promise<number> {
  const s = running(p);
  const old = s.processes.find((x) => x.name === name);
  if (!old) throw new Error(`no process named ${name} (known: ${s.processes.map((x) => x.name).join(', ')})`);
  if (!old.args) throw new Error('the processes were started by an older local-mesh: run down, then up');
  return name === 'mesh' ? restartMesh(p, s, old, out) : restartInPlace(p, s, old, out);
}

async function restartInPlace(p: Paths, s: State, old: Proc, out: (line: string) => void): Promise<number> {
  const wasAlive = isAlive(old);
  if (wasAlive) {
    await stopGroup(old, graceOf(old) + 2000);
    appendHistory(p, { event: 'stopped', name: old.name, pid: old.pid });
  }
  // A server comes back on its port, so the proxy's endpoint table still holds.
  const env = { ...old.env, ...(old.deployment && old.port ? { PORT: String(old.port) } : {}) };
  const proc = startDetached({ name: old.name, args: old.args!, env, log: rotateLog(p, old.name), cwd: ROOT });
  Object.assign(proc, { deployment: old.deployment, labels: old.labels, port: old.port });
  recordStarted(p, s, proc, old);
  if (old.deployment) await waitForLog(proc, parseServerListening, READY_MS);
  else if (old.name === 'client') await waitForLog(proc, parseClientReady, READY_MS);
  out(`${old.name} restarted: pid ${proc.pid}${proc.port ? `, 127.0.0.1:${proc.port}` : ''}${wasAlive ? '' : ' (it had stopped)'}`);
  return 0;
}

async function restartMesh(p: Paths, s: State, old: Proc, out: (line: string) => void): Promise<number> {
  if (!s.mesh) throw new Error('the mesh proxy was never up');
  const wasAlive = isAlive(old);
  if (wasAlive) {
    process.kill(old.pid, 'SIGUSR2');
    await waitForLog(old, /stopped listening/, 5000);
  }
  const retire = async () => {
    if (wasAlive) await stopGroup(old, MESH_DRAIN_MS + 2000);
    recordStopped(p, s, old);
  };
  let next: Proc;
  try {
    ({ proc: next } = await startMeshProcess(p, s, readEndpointTable(p), { port: s.mesh.port, adminPort: s.mesh.adminPort }, (x) => recordStarted(p, s, x), rotateLog));
  } catch (e) {
    // The old proxy no longer listens: keeping it would only hide the failure.
    await retire();
    throw new Error(`the new proxy did not start: ${(e as Error).message} (start everything again with: local-mesh down, then up)`);
  }
  await retire();
  const splits = (await config(s)).splits.map(describeSplit).join('; ');
  out(`mesh restarted: pid ${next.pid}, proxy 127.0.0.1:${next.port}, admin http://127.0.0.1:${s.mesh.adminPort}; splits: ${splits || 'none'}`);
  return 0;
}
