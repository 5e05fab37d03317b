// Talking to what `up` started: the state it left, and the proxy's admin endpoint, through one
// function per admin route, each typed by the answers apps/mesh/admin.ts defines.

import type { ApplyAnswer, ConfigView, DeleteAnswer, EndpointsAnswer, ErrorAnswer } from '../../apps/mesh/admin.ts';
import type { EndpointTable } from '../../lib/mesh-config.ts';
import { loadState, type Paths, type State } from './state.ts';

export function running(p: Paths): State {
  const s = loadState(p);
  if (!s) throw new Error('nothing is running (start it with: node scripts/local-mesh.mjs up)');
  return s;
}

/** The proxy answered, but not 200: `error` is its one-line reason, when it gave one. */
export class AdminRefusal extends Error {
  override name = 'AdminRefusal';
  constructor(
    readonly status: number,
    readonly error: string | undefined,
  ) {
    super(error ?? `mesh answered ${status}`);
  }
}

async function adminFetch(s: State, path: string, init?: RequestInit): Promise<Response> {
  if (!s.mesh) throw new Error('the mesh proxy is not up');
  let res: Response;
  try {
    res = await fetch(`http://127.0.0.1:${s.mesh.adminPort}${path}`, init);
  } catch {
    throw new Error(`the mesh proxy's admin endpoint (127.0.0.1:${s.mesh.adminPort}) does not answer; is it up? (local-mesh status)`);
  }
  if (!res.ok) throw new AdminRefusal(res.status, ((await res.json().catch(() => ({}))) as Partial<ErrorAnswer>).error);
  return res;
}

const yaml = (body: string): RequestInit => ({ method: 'POST', body, headers: { 'content-type': 'application/yaml' } });

export async function config(s: State): Promise<ConfigView> {
  return (await (await adminFetch(s, '/config')).json()) as ConfigView;
}

export async function apply(s: State, yamlText: string): Promise<ApplyAnswer> {
  return (await (await adminFetch(s, '/apply', yaml(yamlText))).json()) as ApplyAnswer;
}

export async function deleteSplits(s: State, yamlText: string): Promise<DeleteAnswer> {
  return (await (await adminFetch(s, '/delete', yaml(yamlText))).json()) as DeleteAnswer;
}

export async function setEndpoints(s: State, services: EndpointTable): Promise<EndpointsAnswer> {
  const init = { method: 'PUT', body: JSON.stringify(services), headers: { 'content-type': 'application/json' } };
  return (await (await adminFetch(s, '/endpoints', init)).json()) as EndpointsAnswer;
}

/** The Prometheus text (lib/prometheus.ts parses it). */
export async function metrics(s: State): Promise<string> {
  return (await adminFetch(s, '/metrics')).text();
}
