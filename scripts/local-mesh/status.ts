// `local-mesh status [--json]`: the processes up started and whether each runs, the splits in
// force and the proxy's calls per backend by gRPC status.

import { statusName } from '../../lib/grpc-status.ts';
import { parseMetrics } from '../../lib/prometheus.ts';
import { describeSplit, type Split } from '../../lib/split.ts';
import { config, metrics } from './admin-client.ts';
import { isAlive } from './processes.ts';
import { loadState, type Paths } from './state.ts';

export async function status(p: Paths, json: boolean, out: (line: string) => void): Promise<number> {
  const s = loadState(p);
  const processes = (s?.processes ?? []).map((x) => ({ name: x.name, pid: x.pid, port: x.port ?? null, alive: isAlive(x) }));
  let splits: Split[] = [];
  let counts: Record<string, Record<string, number>> = {};
  if (s?.mesh && processes.find((x) => x.name === 'mesh')?.alive) {
    splits = (await config(s)).splits;
    counts = backendCounts(await metrics(s));
  }
  if (json) {
    out(JSON.stringify({ running: processes.some((x) => x.alive), processes, splits, backends: counts }));
    return 0;
  }
  if (!s) {
    out('nothing is running');
    return 0;
  }
  for (const x of processes) out(`${x.name.padEnd(22)} pid ${String(x.pid).padEnd(8)} ${x.port ? `127.0.0.1:${x.port}`.padEnd(17) : ''.padEnd(17)} ${x.alive ? 'running' : 'STOPPED'}`);
  out(splits.length ? `splits: ${splits.map(describeSplit).join('; ')}` : 'splits: none (the apex service uses its own endpoints)');
  for (const l of requestLines(counts)) out(l);
  return 0;
}

/** `requests to server-v1: OK=124 UNAVAILABLE=2`, one line a backend, codes by name. */
export function requestLines(counts: Record<string, Record<string, number>>): string[] {
  const name = (code: string) => (/^\d+$/.test(code) ? statusName(Number(code)) : code);
  return Object.entries(counts).map(([backend, byStatus]) => `requests to ${backend}: ${Object.entries(byStatus).map(([code, n]) => `${name(code)}=${n}`).join(' ')}`);
}

/** Sum the proxy's response counters by backend and gRPC status. */
export function backendCounts(metricsText: string): Record<string, Record<string, number>> {
  const res: Record<string, Record<string, number>> = {};
  for (const { labels, value } of parseMetrics(metricsText).filter((x) => x.name === 'mesh_response_total')) {
    const backend = labels.backend ?? labels.service ?? '?';
    const code = labels.grpc_status ?? labels.status ?? '?';
    res[backend] ??= {};
    res[backend][code] = (res[backend][code] ?? 0) + value;
  }
  return res;
}
