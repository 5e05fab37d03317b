// `local-mesh rollout restart DEPLOYMENT`: replace a Deployment's replicas one at a time, as
// `kubectl rollout restart` does with maxSurge 1, maxUnavailable 0 — but in the order that
// loses no call: the new replica starts, is ready and is in the proxy's endpoint table before
// the old one leaves the table, and only then is the old one sent SIGTERM (it drains).

import { setTimeout as sleep } from 'node:timers/promises';
import { podEnv } from '../../lib/topology.ts';
import { adminFetch, running } from './admin-client.ts';
import { graceOf, podName, servicesFor, startPod } from './pods.ts';
import { stopGroup, type Proc } from './processes.ts';
import { recordStarted, recordStopped, saveState, type Paths, type State } from './state.ts';

const ENDPOINT_READY_MS = 10_000;

export async function rolloutRestart(p: Paths, target: string, out: (line: string) => void): Promise<number> {
  const name = target.replace(/^(deployments?|deploy)(\.apps)?\//, '');
  const s = running(p);
  const dep = s.deployments?.[name];
  if (!s.deployments || !s.selectors) throw new Error('the processes were started by an older local-mesh: run down, then up');
  if (!dep) throw new Error(`no deployment ${name} (known: ${Object.keys(s.deployments).join(', ')})`);
  const old = s.processes.filter((x) => x.deployment === name);
  for (const pod of old) {
    const fresh = podName(name);
    let next: Proc | undefined;
    try {
      next = await startPod(p, { name: fresh, deployment: name, labels: dep.workload.labels, env: { ...podEnv(dep.workload, fresh), ...dep.env } }, (x) => recordStarted(p, s, x));
      // In the table beside the old one, and dialled, before the old one goes.
      await setEndpoints(p, s, s.processes);
      await untilReady(s, `127.0.0.1:${next.port}`);
    } catch (e) {
      const started = s.processes.find((x) => x.name === fresh);
      if (started) {
        await stopGroup(started);
        s.processes = s.processes.filter((x) => x !== started);
        s.services = servicesFor(s, s.processes);
        saveState(p, s);
      }
      throw new Error(`rollout of ${name} stopped at ${pod.name}: ${(e as Error).message}`);
    }
    // Out of the table first (calls in flight on it finish), then SIGTERM: the server drains.
    await setEndpoints(p, s, s.processes.filter((x) => x !== pod));
    const how = await stopGroup(pod, graceOf(pod) + 2000);
    recordStopped(p, s, pod);
    out(`${pod.name} (127.0.0.1:${pod.port}) ${how}, replaced by ${next.name} (127.0.0.1:${next.port})`);
  }
  out(`deployment.apps/${name} restarted`);
  return 0;
}

/** Hand the mesh the endpoint table these replicas give; remember it. */
async function setEndpoints(p: Paths, s: State, pods: Proc[]): Promise<void> {
  const services = servicesFor(s, pods);
  const res = await adminFetch(s, '/endpoints', { method: 'PUT', body: JSON.stringify(services), headers: { 'content-type': 'application/json' } });
  if (!res.ok) throw new Error(`the mesh refused the endpoint table: ${((await res.json().catch(() => ({}))) as { error?: string }).error ?? res.status}`);
  s.services = services;
  saveState(p, s);
}

async function untilReady(s: State, address: string): Promise<void> {
  const deadline = Date.now() + ENDPOINT_READY_MS;
  for (;;) {
    const cfg = (await (await adminFetch(s, '/config')).json()) as { services: Record<string, Array<{ address: string; state: string }>> };
    if (Object.values(cfg.services).some((eps) => eps.some((e) => e.address === address && e.state === 'ready'))) return;
    if (Date.now() > deadline) throw new Error(`the mesh did not reach ${address} within ${ENDPOINT_READY_MS} ms`);
    await sleep(20);
  }
}
