// What `local-mesh up` starts, read from the same manifests the cluster track applies: the
// server Deployments (replicas, labels, env), the Services (selectors) and the client
// Deployment's env. Pods are stood in for by local processes; Services become the mesh's
// endpoint table by matching selectors against those processes' labels, as Kubernetes does.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { yamlDocuments, YamlTextError } from './split.ts';
import { readText } from './read-text.ts';

export interface Container {
  image: string;
  env: Record<string, string>;
  /** env entries taken from the downward API: variable -> fieldPath */
  fieldRefs: Record<string, string>;
}

export interface Workload {
  name: string;
  replicas: number;
  labels: Record<string, string>;
  container: Container;
  file: string;
}

export interface ServiceDef {
  name: string;
  selector: Record<string, string>;
  file: string;
}

export interface Topology {
  workloads: Workload[];
  services: ServiceDef[];
}

type Obj = Record<string, any>;

export class TopologyError extends Error {
  override name = 'TopologyError';
}

/** Read Deployments and Services from manifest files (multi-document YAML). */
export function readTopology(files: string[]): Topology {
  const workloads: Workload[] = [];
  const services: ServiceDef[] = [];
  for (const file of files) {
    const text = readText(file, (m) => new TopologyError(m));
    let docs;
    try {
      docs = yamlDocuments(text);
    } catch (e) {
      if (e instanceof YamlTextError) throw new TopologyError(`${file}: ${e.message}`);
      throw e;
    }
    for (const { value } of docs) {
      const obj = value as Obj | null;
      if (!obj || typeof obj !== 'object') continue;
      if (obj.kind === 'Deployment') workloads.push(toWorkload(obj, file));
      if (obj.kind === 'Service') {
        services.push({ name: String(obj.metadata?.name), selector: { ...(obj.spec?.selector ?? {}) }, file });
      }
    }
  }
  return { workloads, services };
}

function toWorkload(obj: Obj, file: string): Workload {
  const name = String(obj.metadata?.name ?? '');
  const tpl = obj.spec?.template;
  const c = tpl?.spec?.containers?.[0];
  if (!name || !c) throw new TopologyError(`${file}: Deployment ${name || '(unnamed)'} has no container`);
  const env: Record<string, string> = {};
  const fieldRefs: Record<string, string> = {};
  for (const e of (c.env ?? []) as Obj[]) {
    if (typeof e.value === 'string') env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath) fieldRefs[e.name] = e.valueFrom.fieldRef.fieldPath;
  }
  const replicas = obj.spec?.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 0) throw new TopologyError(`${file}: Deployment ${name} replicas ${replicas} is not a whole number`);
  return { name, replicas, labels: { ...(tpl?.metadata?.labels ?? {}) }, container: { image: String(c.image ?? ''), env, fieldRefs }, file };
}

/** A pod's env as the kubelet would give it: literal values plus downward-API fields. */
export function podEnv(w: Workload, podName: string): Record<string, string> {
  const env = { ...w.container.env };
  for (const [k, path] of Object.entries(w.container.fieldRefs)) {
    const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
    if (path === 'metadata.name') env[k] = podName;
    else if (label) env[k] = w.labels[label[1]!] ?? '';
    else if (path === 'metadata.namespace') env[k] = 'local';
    else if (path === 'status.podIP') env[k] = '127.0.0.1';
  }
  return env;
}

export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels[k] === selector[k]);
}

/** Every manifest file in a folder, in name order. */
export function manifestFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Which server versions each Service reaches: the `version` labels of the workloads its
 * selector picks. This is how a split's backends (Services) map to what the client sees
 * (the version each reply names).
 */
export function versionsByService(t: Topology): Map<string, string[]> {
  const res = new Map<string, string[]>();
  for (const svc of t.services) {
    const versions = t.workloads.filter((w) => selects(svc.selector, w.labels)).map((w) => w.labels.version).filter((v): v is string => !!v);
    res.set(svc.name, [...new Set(versions)].sort());
  }
  return res;
}
