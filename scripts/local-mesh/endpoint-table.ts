// The endpoint table local-mesh hands the proxy lives in one place: the proxy's own config
// file (mesh-config.json, lib/mesh-config.ts), which the proxy reads at start. A later change
// goes to the proxy first and is written to the file only once the proxy took it, so the
// file is the table the proxy holds: `restart mesh` starts the successor from it and
// `endpoints` reads it. state.json keeps the processes, not a copy of the table.

import { readText } from '../../lib/read-text.ts';
import { formatMeshConfig, parseMeshConfig, type EndpointTable, type MeshConfigFile } from '../../lib/mesh-config.ts';
import { AdminRefusal, setEndpoints } from './admin-client.ts';
import { writeTextAtomically, type Paths, type State } from './state.ts';

const AGAIN = 'start everything again with: local-mesh down, then up';

function readMeshConfig(p: Paths): MeshConfigFile {
  const text = readText(p.meshConfig, (m) => new Error(`${m}; ${AGAIN}`));
  try {
    const cfg = parseMeshConfig(text);
    return { services: cfg.services as EndpointTable, ...(cfg.port ? { listen: cfg.port } : {}), ...(cfg.adminPort ? { admin: cfg.adminPort } : {}) };
  } catch (e) {
    throw new Error(`${p.meshConfig}: ${(e as Error).message}; ${AGAIN}`);
  }
}

/** The endpoint table the proxy holds. */
export function readEndpointTable(p: Paths): EndpointTable {
  return readMeshConfig(p).services;
}

/** Write the config a proxy is about to start with: this table, on these ports (0: any free one). Returns the file. */
export function writeProxyConfig(p: Paths, services: EndpointTable, ports: { port: number; adminPort: number }): string {
  writeTextAtomically(p, p.meshConfig, formatMeshConfig({ services, listen: ports.port, admin: ports.adminPort }));
  return p.meshConfig;
}

/** Hand the running proxy a new table; once it took it, the file says so too (a refusal changes neither). */
export async function publishEndpointTable(p: Paths, s: State, services: EndpointTable): Promise<void> {
  try {
    await setEndpoints(s, services);
  } catch (e) {
    if (e instanceof AdminRefusal) throw new Error(`the mesh refused the endpoint table: ${e.error ?? e.status}`);
    throw e;
  }
  const cfg = readMeshConfig(p);
  writeTextAtomically(p, p.meshConfig, formatMeshConfig({ ...cfg, services }));
}
