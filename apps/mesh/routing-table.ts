// The routing table: which endpoints each Service has and which split is in force for each
// apex. Immutable: a change builds a new table and the mesh swaps one reference, so a call
// routes against exactly one table and calls in flight never see a half-made change.

import { ConfigError } from '../../lib/config.ts';
import type { Endpoint } from '../../lib/mesh-config.ts';
import { callInfo, pickBackend, ruleFor, splitDocuments, splitFromManifest, SplitError, type CallInfo, type Split, type SplitDocument } from '../../lib/split.ts';

// One shape for an endpoint in the proxy and in its config file's writer (local-mesh).
export type { Endpoint };

export interface RoutingTable {
  readonly services: ReadonlyMap<string, readonly Endpoint[]>;
  /** apex -> split in force. */
  readonly splits: ReadonlyMap<string, Split>;
}

// Refused input; the message is one line fit to show a user. The programs' one ConfigError, so
// an `instanceof` check holds whichever module threw it.
export { ConfigError };

export function emptyTable(): RoutingTable {
  return { services: new Map(), splits: new Map() };
}

const ADDRESS_RE = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Check an endpoint table as JSON gives it: `{ "server-v1": [{ "address": "127.0.0.1:P", "pod": "x" }] }`. */
export function parseServices(json: unknown): Map<string, Endpoint[]> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError('services must be an object of service name -> list of endpoints');
  }
  const out = new Map<string, Endpoint[]>();
  for (const [name, list] of Object.entries(json)) {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new ConfigError(`services: ${JSON.stringify(name)} is not a service name`);
    if (!Array.isArray(list)) throw new ConfigError(`services.${name} must be a list of endpoints`);
    const seen = new Set<string>();
    out.set(
      name,
      list.map((e: unknown, i) => {
        const at = `services.${name}[${i}]`;
        if (typeof e !== 'object' || e === null) throw new ConfigError(`${at} must be {address, pod}`);
        const { address, pod } = e as Record<string, unknown>;
        if (typeof address !== 'string' || !ADDRESS_RE.test(address)) throw new ConfigError(`${at}.address must be host:port, got ${JSON.stringify(address)}`);
        const port = Number(ADDRESS_RE.exec(address)![1]);
        if (port < 1 || port > 65535) throw new ConfigError(`${at}.address port ${port} is out of range`);
        if (pod !== undefined && (typeof pod !== 'string' || pod === '')) throw new ConfigError(`${at}.pod must be a non-empty string`);
        if (seen.has(address)) throw new ConfigError(`${at}: ${address} is listed twice`);
        seen.add(address);
        return { address, pod: (pod as string | undefined) ?? address };
      }),
    );
  }
  return out;
}

/** A new table with this endpoint table; refused if a split in force would lose a service. */
export function withServices(table: RoutingTable, services: ReadonlyMap<string, readonly Endpoint[]>): RoutingTable {
  for (const split of table.splits.values()) {
    const backends = (split.rules ?? [split]).flatMap((r) => r.backends.map((b) => b.service));
    for (const name of [split.apex, ...backends]) {
      if (!services.has(name)) throw new ConfigError(`service ${name} is used by the split for ${split.apex} and cannot be removed`);
    }
  }
  return { services, splits: table.splits };
}

/** The split documents in a YAML text, each with the label messages name it by; refused when there is none. */
function splitDocs(yamlText: string): Array<SplitDocument & { label: string }> {
  let docs: SplitDocument[];
  try {
    docs = splitDocuments(yamlText);
  } catch (e) {
    if (e instanceof SplitError) throw new ConfigError(e.message);
    throw e;
  }
  if (docs.length === 0) throw new ConfigError('no TrafficSplit or GRPCRoute in the input');
  return docs.map((d) => ({ ...d, label: `document ${d.index + 1} (${d.kind}${d.name !== undefined ? `/${d.name}` : ''})` }));
}

/**
 * Parse, check and apply every split in `yamlText` at once, or refuse all of it. `manifests[i]`
 * is the document `applied[i]` came from, so a caller can keep it without parsing it again.
 */
export function applyManifests(table: RoutingTable, yamlText: string): { table: RoutingTable; applied: Split[]; manifests: string[] } {
  const known = new Set(table.services.keys());
  const applied: Split[] = [];
  const manifests: string[] = [];
  for (const { obj, label, text } of splitDocs(yamlText)) {
    let split: Split;
    try {
      split = splitFromManifest(obj, known);
    } catch (e) {
      if (e instanceof SplitError) throw new ConfigError(`${label}: ${e.message}`);
      throw e;
    }
    if (!known.has(split.apex)) throw new ConfigError(`${label}: apex service ${split.apex} is not a known service (known: ${[...known].join(', ')})`);
    if (applied.some((s) => s.apex === split.apex)) throw new ConfigError(`${label}: a second split for ${split.apex} in the same input`);
    applied.push(split);
    manifests.push(text);
  }
  const splits = new Map(table.splits);
  for (const s of applied) splits.set(s.apex, s);
  return { table: { services: table.services, splits }, applied, manifests };
}

/** Remove the splits named in `yamlText` (matched by kind and metadata.name), like kubectl delete. */
export function deleteManifests(table: RoutingTable, yamlText: string): { table: RoutingTable; deleted: Split[] } {
  const splits = new Map(table.splits);
  const deleted: Split[] = [];
  for (const { kind, name, label } of splitDocs(yamlText)) {
    const hit = [...splits.values()].find((s) => s.kind === kind && s.name === name);
    if (!hit) throw new ConfigError(`${label}: no such split in force`);
    splits.delete(hit.apex);
    deleted.push(hit);
  }
  return { table: { services: table.services, splits }, deleted };
}

/** The Service an authority names: `server`, `server:50051` or `server.ns.svc.cluster.local:50051`. */
export function serviceForAuthority(table: RoutingTable, authority: string): string | undefined {
  let host = authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : authority;
  const colon = host.lastIndexOf(':');
  if (!host.startsWith('[') && colon >= 0) host = host.slice(0, colon);
  host = host.toLowerCase();
  if (table.services.has(host)) return host;
  const dot = host.indexOf('.');
  if (dot > 0 && table.services.has(host.slice(0, dot))) return host.slice(0, dot);
  return undefined;
}

/** gRPC status codes a route failure answers with. */
const UNAVAILABLE = 14;
const UNIMPLEMENTED = 12;

export type Route =
  | { ok: true; apex: string; backend: string; endpoints: readonly Endpoint[] }
  | { ok: false; code: number; reason: 'unknown_service' | 'no_route'; message: string };

/**
 * Authority -> apex -> the rule the call takes (lib/split.ts ruleFor; a split without rules
 * has one) -> backend by its weights (or the apex itself, without a split) -> its endpoints.
 * A call no rule matches is refused UNIMPLEMENTED: gRPC's reading of the HTTP 404 Gateway API
 * prescribes for it (grpc/grpc doc/http-grpc-status-mapping.md).
 */
export function route(table: RoutingTable, authority: string, r: number, request?: { path: string; headers: CallInfo['headers'] }): Route {
  const apex = serviceForAuthority(table, authority);
  if (apex === undefined) {
    return { ok: false, code: UNAVAILABLE, reason: 'unknown_service', message: `unknown service ${JSON.stringify(authority)} (known: ${[...table.services.keys()].join(', ')})` };
  }
  const split = table.splits.get(apex);
  if (!split) return { ok: true, apex, backend: apex, endpoints: table.services.get(apex) ?? [] };
  // The path is only taken apart when a rule may need it: most splits are weights only.
  const call = split.rules && request ? callInfo(request.path, request.headers) : undefined;
  const rule = call ? ruleFor(split, call) : split;
  if (!rule) {
    return { ok: false, code: UNIMPLEMENTED, reason: 'no_route', message: `no rule of ${split.kind}/${split.name} matches /${call!.service}/${call!.method}` };
  }
  const backend = pickBackend(rule, r);
  return { ok: true, apex, backend, endpoints: table.services.get(backend) ?? [] };
}
