// `local-mesh rollout restart DEPLOYMENT`: replace a Deployment's replicas one at a time, as
// `kubectl rollout restart` does with maxSurge 1, maxUnavailable 0 — but in the order that
// loses no call: the new replica starts, is ready and is in the proxy's endpoint table before
// the old one leaves the table, and only then is the old one sent SIGTERM (it drains).
// `local-mesh set env DEPLOYMENT NAME=VALUE NAME-`: change the Deployment's environment, then
// the same rolling replacement, so the new replicas run with it (what a changed pod template
// makes a Deployment do). For the client Deployment, its one process is started again.

import { setTimeout as sleep } from 'node:timers/promises';
import { podEnv } from '../../lib/topology.ts';
import { config, running } from './admin-client.ts';
import { publishEndpointTable } from './endpoint-table.ts';
import { graceOf, podName, servicesFor, startPod } from './pods.ts';
import { STOP_GRACE_MS, stopGroup, type Proc } from './processes.ts';
import { restart } from './restart.ts';
import { recordStarted, recordStopped, saveState, type Paths, type State } from './state.ts';
import { UsageError } from './usage-error.ts';

const ENDPOINT_READY_MS = 10_000;

type Deployment = NonNullable<State['deployments']>[string];

/** `server-v1`, `deploy/server-v1`, `deployment.apps/server-v1` -> server-v1. */
const deploymentName = (target: string) => target.replace(/^(deployments?|deploy)(\.apps)?\//, '');

/** The running state and the server Deployment a target names. */
function deploymentOf(p: Paths, target: string): { s: State; name: string; dep: Deployment } {
  const name = deploymentName(target);
  const s = running(p);
  const dep = s.deployments?.[name];
  if (!s.deployments || !s.selectors) throw new Error('the processes were started by an older local-mesh: run down, then up');
  if (!dep) throw new Error(`no deployment ${name} (known: ${Object.keys(s.deployments).join(', ')})`);
  return { s, name, dep };
}

export async function rolloutRestart(p: Paths, target: string, out: (line: string) => void): Promise<number> {
  const { s, name, dep } = deploymentOf(p, target);
  await replaceReplicas(p, s, name, dep, out);
  out(`deployment.apps/${name} restarted`);
  return 0;
}

/** `NAME=VALUE` sets, `NAME-` unsets; the words `set env` takes after the Deployment. */
export type EnvChange = { name: string; value: string } | { name: string; unset: true };

// local-mesh gives every replica its own loopback port and address.
const RESERVED = new Set(['PORT', 'HOST']);

export function parseEnvChanges(words: readonly string[]): EnvChange[] {
  if (words.length === 0) throw new UsageError('set env needs NAME=VALUE or NAME- (e.g. set env deploy/server-v2 FAULT_ERROR_RATE=0.5)');
  return words.map((w) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*)|(-))$/s.exec(w);
    if (!m) throw new UsageError(`set env: ${JSON.stringify(w)} is not NAME=VALUE or NAME-`);
    if (RESERVED.has(m[1]!)) throw new UsageError(`set env: ${m[1]} is chosen by local-mesh for each replica and cannot be set`);
    return m[3] ? { name: m[1]!, unset: true as const } : { name: m[1]!, value: m[2]! };
  });
}

/**
 * Set or unset environment variables on a Deployment and roll its replicas onto it. A change
 * that leaves the environment as it was replaces nothing. If the first new replica fails
 * (say the value is refused: the server exits 2), the old environment is put back and the
 * old replicas keep serving.
 */
export async function setEnv(p: Paths, target: string, changes: readonly EnvChange[], out: (line: string) => void): Promise<number> {
  if (deploymentName(target) === CLIENT) return setClientEnv(p, changes, out);
  const { s, name, dep } = deploymentOf(p, target);
  const before = structuredClone(dep);
  for (const c of changes) {
    if ('unset' in c) {
      // From wherever it came: the manifest's value, its downward-API field or an override.
      delete dep.env[c.name];
      delete dep.workload.container.env[c.name];
      delete dep.workload.container.fieldRefs[c.name];
    } else dep.env[c.name] = c.value;
  }
  const sample = (d: Deployment) => ({ ...podEnv(d.workload, 'x'), ...d.env });
  if (JSON.stringify(sample(before)) === JSON.stringify(sample(dep))) {
    out(`deployment.apps/${name} env unchanged`);
    return 0;
  }
  saveState(p, s);
  const old = new Set(s.processes.filter((x) => x.deployment === name).map((x) => x.pid));
  try {
    await replaceReplicas(p, s, name, dep, out);
  } catch (e) {
    if (s.processes.filter((x) => x.deployment === name).every((x) => old.has(x.pid))) {
      s.deployments![name] = before;
      saveState(p, s);
      throw new Error(`${(e as Error).message}; the environment of ${name} is unchanged`);
    }
    throw e;
  }
  out(`deployment.apps/${name} env updated`);
  return 0;
}

// The client Deployment (deploy/linkerd/client.yaml) runs as the one process `client`; up points
// it at the proxy with these, so they are not the reader's to change.
const CLIENT = 'client';
const CLIENT_WIRING = new Set(['SERVER_ADDR', 'AUTHORITY', 'LOG_FORMAT']);

/** The client's one replica started again with the new environment (`restart client`, which keeps its log as client.previous.log). */
async function setClientEnv(p: Paths, changes: readonly EnvChange[], out: (line: string) => void): Promise<number> {
  for (const c of changes) if (CLIENT_WIRING.has(c.name)) throw new UsageError(`set env: the client's ${c.name} is set by local-mesh (it points the client at the proxy)`);
  const s = running(p);
  const proc = s.processes.find((x) => x.name === CLIENT);
  if (!proc?.env) throw new Error('no client process to set env on (known: ' + s.processes.map((x) => x.name).join(', ') + ')');
  const env = { ...proc.env };
  for (const c of changes) {
    if ('unset' in c) delete env[c.name];
    else env[c.name] = c.value;
  }
  if (JSON.stringify(env) === JSON.stringify(proc.env)) {
    out(`deployment.apps/${CLIENT} env unchanged`);
    return 0;
  }
  proc.env = env;
  saveState(p, s);
  await restart(p, CLIENT, out);
  out(`deployment.apps/${CLIENT} env updated`);
  return 0;
}

/** Replace each replica of `name` by one started with the Deployment's current environment. */
async function replaceReplicas(p: Paths, s: State, name: string, dep: Deployment, out: (line: string) => void): Promise<void> {
  const old = s.processes.filter((x) => x.deployment === name);
  for (const pod of old) {
    const fresh = podName(name);
    let next: Proc | undefined;
    let handed = false;
    try {
      next = await startPod(p, { name: fresh, deployment: name, labels: dep.workload.labels, env: { ...podEnv(dep.workload, fresh), ...dep.env } }, (x) => recordStarted(p, s, x));
      // In the table beside the old one, and dialled, before the old one goes.
      await setEndpoints(p, s, s.processes);
      handed = true;
      await untilReady(s, `127.0.0.1:${next.port}`);
    } catch (e) {
      const started = s.processes.find((x) => x.name === fresh);
      if (started) {
        await stopGroup(started, STOP_GRACE_MS);
        s.processes = s.processes.filter((x) => x !== started);
        saveState(p, s);
        // The table back to the replicas that run, so neither this proxy nor one restarted
        // from its config dials the one just stopped. Best effort: the rollout fails anyway.
        if (handed) await setEndpoints(p, s, s.processes).catch(() => undefined);
      }
      throw new Error(`rollout of ${name} stopped at ${pod.name}: ${(e as Error).message}`);
    }
    // Out of the table first (calls in flight on it finish), then SIGTERM: the server drains.
    await setEndpoints(p, s, s.processes.filter((x) => x !== pod));
    const how = await stopGroup(pod, graceOf(pod) + 2000);
    recordStopped(p, s, pod);
    out(`${pod.name} (127.0.0.1:${pod.port}) ${how}, replaced by ${next.name} (127.0.0.1:${next.port})`);
  }
}

/** Hand the mesh the endpoint table these replicas give (endpoint-table.ts keeps it). */
async function setEndpoints(p: Paths, s: State, pods: Proc[]): Promise<void> {
  await publishEndpointTable(p, s, servicesFor(s, pods));
}

async function untilReady(s: State, address: string): Promise<void> {
  const deadline = Date.now() + ENDPOINT_READY_MS;
  for (;;) {
    const cfg = await config(s);
    if (Object.values(cfg.services).some((eps) => eps.some((e) => e.address === address && e.state === 'ready'))) return;
    if (Date.now() > deadline) throw new Error(`the mesh did not reach ${address} within ${ENDPOINT_READY_MS} ms`);
    await sleep(20);
  }
}
