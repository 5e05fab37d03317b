// One model of a traffic split, shared by the runner's stage edits, the local mesh proxy, the
// stage checks and the manifest tests. TrafficSplit (SMI) and GRPCRoute (Gateway API, GAMMA)
// both parse into it, through one validation, so weights are read in exactly one place.

export interface Backend {
  service: string;
  weight: number;
}

export interface Split {
  /** The Service clients address (TrafficSplit spec.service, GRPCRoute parentRef). */
  apex: string;
  /** metadata.name of the manifest the split came from. */
  name: string;
  kind: 'TrafficSplit' | 'GRPCRoute';
  backends: Backend[];
}

export class SplitError extends Error {
  override name = 'SplitError';
}

const TRAFFIC_SPLIT_VERSIONS = ['split.smi-spec.io/v1alpha1', 'split.smi-spec.io/v1alpha2'];
const GRPC_ROUTE_VERSIONS = ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1alpha2'];

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new SplitError(`${what} must be a non-empty string`);
  return v;
}

/** Is this manifest one of the kinds a split can come from? (Services etc. are not.) */
export function isSplitManifest(obj: unknown): boolean {
  return isObj(obj) && (obj.kind === 'TrafficSplit' || obj.kind === 'GRPCRoute');
}

/**
 * Parse and validate a TrafficSplit or GRPCRoute object (as YAML parses it).
 * `known`, when given, is the set of Service names that exist: backends must be among them.
 */
export function splitFromManifest(obj: unknown, known?: ReadonlySet<string>): Split {
  if (!isObj(obj)) throw new SplitError('manifest is not a mapping');
  const kind = obj.kind;
  const apiVersion = obj.apiVersion;
  const meta = isObj(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  let split: Split;
  if (kind === 'TrafficSplit') {
    if (!TRAFFIC_SPLIT_VERSIONS.includes(String(apiVersion))) {
      throw new SplitError(
        `TrafficSplit apiVersion ${JSON.stringify(apiVersion)} is not served (use ${TRAFFIC_SPLIT_VERSIONS.join(' or ')})`,
      );
    }
    const spec = obj.spec;
    if (!isObj(spec)) throw new SplitError('TrafficSplit spec is missing');
    const apex = str(spec.service, 'TrafficSplit spec.service');
    if (!Array.isArray(spec.backends)) throw new SplitError('TrafficSplit spec.backends must be a list');
    const backends = spec.backends.map((b, i) => {
      if (!isObj(b)) throw new SplitError(`TrafficSplit spec.backends[${i}] must be a mapping`);
      return { service: str(b.service, `spec.backends[${i}].service`), weight: weight(b.weight, `spec.backends[${i}].weight`) };
    });
    split = { apex, name, kind, backends };
  } else if (kind === 'GRPCRoute') {
    if (!GRPC_ROUTE_VERSIONS.includes(String(apiVersion))) {
      throw new SplitError(
        `GRPCRoute apiVersion ${JSON.stringify(apiVersion)} is not supported (use ${GRPC_ROUTE_VERSIONS.join(' or ')})`,
      );
    }
    const spec = obj.spec;
    if (!isObj(spec)) throw new SplitError('GRPCRoute spec is missing');
    const parents = Array.isArray(spec.parentRefs) ? spec.parentRefs : [];
    const parent = parents[0];
    if (parents.length !== 1 || !isObj(parent)) throw new SplitError('GRPCRoute needs exactly one parentRef (the Service)');
    if (parent.kind !== 'Service') throw new SplitError(`GRPCRoute parentRef kind must be Service, not ${JSON.stringify(parent.kind)}`);
    const apex = str(parent.name, 'GRPCRoute parentRefs[0].name');
    const rules = Array.isArray(spec.rules) ? spec.rules : [];
    const rule = rules[0];
    if (rules.length !== 1 || !isObj(rule)) throw new SplitError('GRPCRoute needs exactly one rule');
    if (rule.matches !== undefined) throw new SplitError('GRPCRoute rule matches are not supported by this split model');
    if (!Array.isArray(rule.backendRefs)) throw new SplitError('GRPCRoute rules[0].backendRefs must be a list');
    const backends = rule.backendRefs.map((b, i) => {
      if (!isObj(b)) throw new SplitError(`rules[0].backendRefs[${i}] must be a mapping`);
      if (b.kind !== undefined && b.kind !== 'Service') {
        throw new SplitError(`rules[0].backendRefs[${i}].kind must be Service`);
      }
      // Gateway API: weight defaults to 1.
      return { service: str(b.name, `rules[0].backendRefs[${i}].name`), weight: weight(b.weight ?? 1, `rules[0].backendRefs[${i}].weight`) };
    });
    split = { apex, name, kind, backends };
  } else {
    throw new SplitError(`kind ${JSON.stringify(kind)} is not a split (expected TrafficSplit or GRPCRoute)`);
  }
  validateBackends(split, known);
  return split;
}

function weight(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new SplitError(`${what} must be a whole number >= 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Rules every split obeys, whichever manifest it came from. */
function validateBackends(split: Split, known?: ReadonlySet<string>): void {
  if (split.backends.length === 0) throw new SplitError(`split for ${split.apex} has no backends`);
  const seen = new Set<string>();
  for (const b of split.backends) {
    if (b.service === split.apex) {
      throw new SplitError(`backend ${b.service} is the apex service itself; list the versioned services`);
    }
    if (seen.has(b.service)) throw new SplitError(`backend ${b.service} is listed twice`);
    seen.add(b.service);
    if (known && !known.has(b.service)) throw new SplitError(`backend ${b.service} is not a known service`);
  }
  if (split.backends.every((b) => b.weight === 0)) {
    throw new SplitError(`split for ${split.apex}: all weights are zero`);
  }
}

/** Each backend's expected share of calls, 0..1, in backend order. */
export function shares(split: Pick<Split, 'backends'>): Map<string, number> {
  const total = split.backends.reduce((n, b) => n + b.weight, 0);
  return new Map(split.backends.map((b) => [b.service, total === 0 ? 0 : b.weight / total]));
}

/**
 * Shares (0..1) as percentages joined by "/", e.g. "95/5", "7/93", "94.8/5.2": one decimal, dropped
 * when it is 0 (7/100 is 7.000000000000001 in floating point, which must still print "7").
 * The one formatter for split and observed-share labels, so the two read alike.
 */
export function percentLabel(fractions: readonly number[]): string {
  return fractions.map((x) => (100 * x).toFixed(1).replace(/\.0$/, '')).join('/');
}

/** A short label for a split, e.g. "95/5" or "0/100", as percentages in backend order. */
export function splitLabel(split: Pick<Split, 'backends'>): string {
  return percentLabel([...shares(split).values()]);
}

/** A split as one line for logs, e.g. "greeter -> greeter-v1 95, greeter-v2 5" (raw weights). */
export function describeSplit(s: Pick<Split, 'apex' | 'backends'>): string {
  return `${s.apex} -> ${s.backends.map((b) => `${b.service} ${b.weight}`).join(', ')}`;
}

/** Pick a backend by weight; `r` is uniform in [0, 1). Kept pure so it can be tested. */
export function pickBackend(split: Pick<Split, 'backends'>, r: number): string {
  const total = split.backends.reduce((n, b) => n + b.weight, 0);
  let x = r * total;
  for (const b of split.backends) {
    if (b.weight === 0) continue;
    if (x < b.weight) return b.service;
    x -= b.weight;
  }
  // Floating point at the top edge: the last backend with weight.
  return [...split.backends].reverse().find((b) => b.weight > 0)!.service;
}
