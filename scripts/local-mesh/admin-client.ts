// Talking to what `up` started: the state it left, and the proxy's admin endpoint.

import { loadState, type Paths, type State } from './state.ts';

export function running(p: Paths): State {
  const s = loadState(p);
  if (!s) throw new Error('nothing is running (start it with: node scripts/local-mesh.mjs up)');
  return s;
}

export async function adminFetch(s: State, path: string, init?: RequestInit): Promise<Response> {
  if (!s.mesh) throw new Error('the mesh proxy is not up');
  try {
    return await fetch(`http://127.0.0.1:${s.mesh.adminPort}${path}`, init);
  } catch {
    throw new Error(`the mesh proxy's admin endpoint (127.0.0.1:${s.mesh.adminPort}) does not answer; is it up? (local-mesh status)`);
  }
}
