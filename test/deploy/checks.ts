// Checks over the manifest documents. Each takes plain data and returns the problems it finds,
// one readable line each (empty: all good), so a test can run it on the real files and on a
// copy broken on purpose.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Ajv } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
// @kubernetes-models/gateway-api 0.5.1 was generated from Gateway API v1.0.0, where GRPCRoute
// exists only as v1alpha2; v1.1 promoted the same schema to v1, which Linkerd 2.18+ reads.
import { GRPCRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1alpha2/GRPCRoute';
import { isSplitManifest, splitFromManifest, type Split } from '../../lib/split.ts';
import { selects } from '../../lib/topology.ts';
import { where, type ManifestDoc, type Obj } from './load.ts';

const trafficSplitSchema = JSON.parse(readFileSync(new URL('./trafficsplit.schema.json', import.meta.url), 'utf8')) as object;
const validateTrafficSplit = new Ajv({ allErrors: true, strict: true }).compile(trafficSplitSchema);

const GRPC_ROUTE_API = 'gateway.networking.k8s.io/v1';

type Validator = (obj: Obj) => void;

const VALIDATORS: Record<string, { apiVersion: string; validate: Validator }> = {
  ServiceAccount: { apiVersion: 'v1', validate: (o) => new ServiceAccount(o).validate() },
  Service: { apiVersion: 'v1', validate: (o) => new Service(o).validate() },
  Deployment: { apiVersion: 'apps/v1', validate: (o) => new Deployment(o).validate() },
  GRPCRoute: {
    apiVersion: GRPC_ROUTE_API,
    validate: (o) => new GRPCRoute({ ...o, apiVersion: 'gateway.networking.k8s.io/v1alpha2' } as never).validate(),
  },
  TrafficSplit: {
    apiVersion: 'split.smi-spec.io/v1alpha2',
    validate: (o) => {
      if (!validateTrafficSplit(o)) {
        throw new Error(validateTrafficSplit.errors!.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; '));
      }
    },
  },
};

/** Schema validation of one document, by kind. */
export function schemaProblems(d: ManifestDoc): string[] {
  const kind = d.obj.kind;
  const v = typeof kind === 'string' ? VALIDATORS[kind] : undefined;
  if (!v) return [`${where(d)}: kind ${JSON.stringify(kind)} is not one this project deploys (${Object.keys(VALIDATORS).join(', ')})`];
  // The model classes fill apiVersion and kind in themselves, so check the file's own values.
  if (d.obj.apiVersion !== v.apiVersion) return [`${where(d)}: apiVersion ${JSON.stringify(d.obj.apiVersion)}, expected ${v.apiVersion}`];
  try {
    v.validate(d.obj);
    return [];
  } catch (e) {
    return [`${where(d)}: ${(e as Error).message.split('\n')[0]}`];
  }
}

/** The tutorial applies every file with -n: a namespace in a file would fight it. */
export function namespaceProblems(docs: ManifestDoc[]): string[] {
  return docs.filter((d) => d.obj.metadata?.namespace !== undefined).map((d) => `${where(d)}: sets metadata.namespace; the namespace comes from kubectl -n`);
}

/** The same kind/name may appear in several files (each file applies on its own) only if identical. */
export function duplicateProblems(docs: ManifestDoc[]): string[] {
  const first = new Map<string, ManifestDoc>();
  const problems: string[] = [];
  for (const d of docs) {
    const key = `${d.obj.kind}/${d.obj.metadata?.name}`;
    const prev = first.get(key);
    if (!prev) first.set(key, d);
    // A GRPCRoute in a second file is the same route in another state (the tutorial applies one
    // file, then the other, to change its rules): it must attach to the same parents.
    else if (d.obj.kind === 'GRPCRoute') {
      if (!isDeepStrictEqual(prev.obj.spec?.parentRefs, d.obj.spec?.parentRefs)) problems.push(`${where(d)}: parentRefs differ from the same route at ${prev.file}:${prev.line}`);
    } else if (!isDeepStrictEqual(prev.obj, d.obj)) problems.push(`${where(d)}: differs from the same object at ${prev.file}:${prev.line}`);
  }
  return problems;
}

/** One object per kind/name (duplicates are identical, see duplicateProblems). */
export function unique(docs: ManifestDoc[], kind: string): ManifestDoc[] {
  const seen = new Set<string>();
  return docs.filter((d) => d.obj.kind === kind && !seen.has(d.obj.metadata?.name) && seen.add(d.obj.metadata?.name));
}

function serviceNames(docs: ManifestDoc[]): Set<string> {
  return new Set(unique(docs, 'Service').map((d) => String(d.obj.metadata?.name)));
}

function podLabels(d: ManifestDoc): Record<string, string> {
  return d.obj.spec?.template?.metadata?.labels ?? {};
}

/** Deployments whose pods a Service's selector picks (no selector picks none, as local-mesh reads it). */
export function selected(docs: ManifestDoc[], svc: ManifestDoc): ManifestDoc[] {
  return unique(docs, 'Deployment').filter((dep) => selects(svc.obj.spec?.selector ?? {}, podLabels(dep)));
}

export function selectorProblems(docs: ManifestDoc[]): string[] {
  const problems: string[] = [];
  for (const dep of unique(docs, 'Deployment')) {
    if (!selects(dep.obj.spec?.selector?.matchLabels ?? {}, podLabels(dep))) {
      problems.push(`${where(dep)}: spec.selector.matchLabels does not match the pod template's labels`);
    }
  }
  for (const svc of unique(docs, 'Service')) {
    if (selected(docs, svc).length === 0) {
      problems.push(`${where(svc)}: selector ${JSON.stringify(svc.obj.spec?.selector ?? {})} matches no Deployment's pod labels`);
    }
  }
  return problems;
}

function containers(d: ManifestDoc): Obj[] {
  const spec = d.obj.spec?.template?.spec ?? {};
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

function portMatches(c: Obj, port: number | string): boolean {
  return (c.ports ?? []).some((p: Obj) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
}

/** Service targetPorts resolve on every pod they select; probes aim at declared container ports. */
export function portProblems(docs: ManifestDoc[]): string[] {
  const problems: string[] = [];
  for (const svc of unique(docs, 'Service')) {
    for (const p of svc.obj.spec?.ports ?? []) {
      const target: number | string = p.targetPort ?? p.port;
      for (const dep of selected(docs, svc)) {
        const c = (dep.obj.spec.template.spec.containers ?? []).find((c: Obj) => portMatches(c, target));
        if (!c) problems.push(`${where(svc)}: port ${p.name ?? p.port} targets ${JSON.stringify(target)}, which no container of ${where(dep)} declares`);
        else {
          const cp = c.ports.find((x: Obj) => (typeof target === 'number' ? x.containerPort === target : x.name === target));
          if ((cp.protocol ?? 'TCP') !== (p.protocol ?? 'TCP')) problems.push(`${where(svc)}: port ${p.name ?? p.port} protocol differs from ${where(dep)}`);
        }
      }
    }
  }
  for (const dep of unique(docs, 'Deployment')) {
    for (const c of containers(dep)) {
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
        const pr = c[probe];
        if (!pr) continue;
        const port = pr.grpc?.port ?? pr.httpGet?.port ?? pr.tcpSocket?.port;
        if (port === undefined) continue; // exec probes have no port
        if (!portMatches(c, port)) problems.push(`${where(dep)}: container ${c.name} ${probe} port ${JSON.stringify(port)} is not one of its ports`);
      }
    }
  }
  return problems;
}

function servicePorts(docs: ManifestDoc[], name: string): number[] {
  const svc = unique(docs, 'Service').find((s) => s.obj.metadata?.name === name);
  return (svc?.obj.spec?.ports ?? []).map((p: Obj) => p.port);
}

/**
 * Every TrafficSplit and GRPCRoute goes through the one split model, with the Services in
 * deploy/ as the known backends; then the pieces must fit: the apex is a Service that reaches
 * every pod its backends reach, and the ports named line up.
 */
export function splitProblems(docs: ManifestDoc[]): string[] {
  const problems: string[] = [];
  const known = serviceNames(docs);
  for (const d of docs.filter((d) => isSplitManifest(d.obj))) {
    let split: Split;
    try {
      split = splitFromManifest(d.obj, known);
    } catch (e) {
      problems.push(`${where(d)}: ${(e as Error).message}`);
      continue;
    }
    const apex = unique(docs, 'Service').find((s) => s.obj.metadata?.name === split.apex);
    if (!apex) {
      problems.push(`${where(d)}: apex ${split.apex} is not a Service in deploy/`);
      continue;
    }
    const apexPods = new Set(selected(docs, apex).map((x) => x.obj.metadata.name));
    const apexPorts = servicePorts(docs, split.apex);
    for (const b of (split.rules ?? [split]).flatMap((r) => r.backends)) {
      const svc = unique(docs, 'Service').find((s) => s.obj.metadata?.name === b.service)!;
      for (const dep of selected(docs, svc)) {
        if (!apexPods.has(dep.obj.metadata.name)) problems.push(`${where(d)}: apex ${split.apex} does not select ${where(dep)}, which backend ${b.service} serves`);
      }
      for (const port of apexPorts) {
        if (!servicePorts(docs, b.service).includes(port)) problems.push(`${where(d)}: backend ${b.service} has no port ${port} like the apex ${split.apex}`);
      }
    }
    if (d.obj.kind === 'GRPCRoute') {
      for (const ref of d.obj.spec.parentRefs ?? []) {
        if (ref.port !== undefined && !apexPorts.includes(ref.port)) problems.push(`${where(d)}: parentRef port ${ref.port} is not a port of Service ${split.apex}`);
      }
      for (const ref of (d.obj.spec.rules ?? []).flatMap((r: Obj) => r.backendRefs ?? [])) {
        if (!servicePorts(docs, ref.name).includes(ref.port)) problems.push(`${where(d)}: backendRef ${ref.name} port ${ref.port} is not a port of that Service`);
      }
    }
  }
  return problems;
}

/** Images are the ones the Dockerfile's documented build commands tag, never pulled. */
export function imageProblems(docs: ManifestDoc[], tags: Set<string>): string[] {
  const problems: string[] = [];
  for (const dep of unique(docs, 'Deployment')) {
    for (const c of containers(dep)) {
      if (!tags.has(c.image)) problems.push(`${where(dep)}: container ${c.name} image ${c.image} is not built by the Dockerfile (${[...tags].join(', ')})`);
      if (c.imagePullPolicy !== 'IfNotPresent') problems.push(`${where(dep)}: container ${c.name} imagePullPolicy ${c.imagePullPolicy ?? '(unset)'}, expected IfNotPresent`);
    }
  }
  return problems;
}

/**
 * Pod Security Standards, "restricted" profile (Kubernetes docs, pod-security-standards), plus
 * readOnlyRootFilesystem, which the issue asks for on top.
 */
export function restrictedProblems(docs: ManifestDoc[]): string[] {
  const problems: string[] = [];
  for (const dep of unique(docs, 'Deployment')) {
    const spec = dep.obj.spec?.template?.spec ?? {};
    const podSc = spec.securityContext ?? {};
    const at = where(dep);
    for (const host of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
      if (spec[host]) problems.push(`${at}: ${host} is set`);
    }
    for (const v of spec.volumes ?? []) {
      if (v.hostPath) problems.push(`${at}: volume ${v.name} is a hostPath`);
    }
    if (podSc.runAsUser === 0) problems.push(`${at}: pod runAsUser is 0`);
    for (const c of containers(dep)) {
      const sc = c.securityContext ?? {};
      const name = `${at} container ${c.name}`;
      if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${name}: runAsNonRoot is not true (pod or container)`);
      if ((sc.runAsUser ?? podSc.runAsUser) === 0) problems.push(`${name}: runs as uid 0`);
      const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${name}: seccompProfile.type is ${seccomp ?? 'unset'}, expected RuntimeDefault`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${name}: allowPrivilegeEscalation is not false`);
      if (sc.privileged) problems.push(`${name}: privileged`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${name}: capabilities.drop does not include ALL`);
      for (const cap of sc.capabilities?.add ?? []) {
        if (cap !== 'NET_BIND_SERVICE') problems.push(`${name}: adds capability ${cap}`);
      }
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${name}: readOnlyRootFilesystem is not true`);
    }
  }
  return problems;
}

/** Requests and limits for cpu and memory on every container. */
export function resourceProblems(docs: ManifestDoc[]): string[] {
  const problems: string[] = [];
  for (const dep of unique(docs, 'Deployment')) {
    for (const c of containers(dep)) {
      for (const kind of ['requests', 'limits'] as const) {
        for (const r of ['cpu', 'memory'] as const) {
          if (c.resources?.[kind]?.[r] === undefined) problems.push(`${where(dep)}: container ${c.name} has no resources.${kind}.${r}`);
        }
      }
    }
  }
  return problems;
}

/**
 * Env from the downward API must point at something the pod has: a label fieldRef names one of
 * the pod's own labels. `reads` maps an image to the variables its program reads, so a
 * misspelt name (SERVER_ADDRESS for SERVER_ADDR) is caught before a cluster ignores it.
 */
export function envProblems(docs: ManifestDoc[], reads: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const dep of unique(docs, 'Deployment')) {
    for (const c of containers(dep)) {
      const known = reads.get(c.image);
      for (const e of c.env ?? []) {
        const path: string | undefined = e.valueFrom?.fieldRef?.fieldPath;
        const label = path && /^metadata\.labels\['(.+)'\]$/.exec(path);
        if (label && podLabels(dep)[label[1]!] === undefined) problems.push(`${where(dep)}: env ${e.name} reads label ${label[1]}, which the pod does not have`);
        if (known && !known.has(e.name)) problems.push(`${where(dep)}: env ${e.name} is not read by the program in ${c.image}`);
      }
    }
  }
  return problems;
}
