// One model of a traffic split, shared by the runner's stage edits, the local mesh proxy, the
// stage checks and the manifest tests. TrafficSplit (SMI) and GRPCRoute (Gateway API, GAMMA)
// both parse into it, through one validation, so weights are read in exactly one place.
// A TrafficSplit, and a GRPCRoute of one rule without matches, is weights only (`backends`). A
// GRPCRoute with matches or several rules also carries its `rules`, and `ruleFor` picks the rule
// a call takes, with the precedence Gateway API specifies (see there).

import type { Document as YamlDocument } from 'yaml';
import { lineCounter, parseAllDocuments } from './yaml.ts';

export interface Backend {
  service: string;
  weight: number;
}

export type MatchType = 'Exact' | 'RegularExpression';

/** GRPCMethodMatch: the call's service and/or method (at least one). */
export interface MethodMatch {
  type: MatchType;
  service?: string;
  method?: string;
}

/** GRPCHeaderMatch; `name` lower-case (header names are case-insensitive). */
export interface HeaderMatch {
  type: MatchType;
  name: string;
  value: string;
}

/** GRPCRouteMatch: every condition in it must hold (method AND each header). */
export interface RouteMatch {
  method?: MethodMatch;
  headers: HeaderMatch[];
}

/** GRPCRouteRule: taken when any of its matches holds (no matches: every call). */
export interface Rule {
  matches: RouteMatch[];
  backends: Backend[];
}

export interface Split {
  /** The Service clients address (TrafficSplit spec.service, GRPCRoute parentRef). */
  apex: string;
  /** metadata.name of the manifest the split came from. */
  name: string;
  kind: 'TrafficSplit' | 'GRPCRoute';
  /**
   * The weights a call no match singles out follows: the only rule's, or with `rules`, the
   * first rule without matches (else the first rule's). What stage edits and checks read.
   */
  backends: Backend[];
  /** Only for a GRPCRoute with matches or several rules: every rule, in manifest order. */
  rules?: Rule[];
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

/** Why a YAML text could not be read: it does not parse, or a document of it cannot be read. */
export class YamlTextError extends SplitError {
  override name = 'YamlTextError';
  constructor(
    message: string,
    /** `broken`: the text does not parse (`at` is where); `unreadable`: it parses, but document `index` cannot be read. */
    readonly problem: 'broken' | 'unreadable',
    /** The yaml library's own message, whole, for callers that word the error their way. */
    readonly reason: string,
    /** 0-based position of the document at fault. */
    readonly index: number,
    readonly at?: { line: number; col: number },
  ) {
    super(message);
  }
}

/** One document of a YAML text, as `yamlDocuments` reads it. */
export interface YamlDocumentEntry {
  /** 0-based position among the text's documents (messages say `document index + 1`). */
  index: number;
  /** The parsed document, for a caller that edits it in place and splices it back (ranges into the text). */
  doc: YamlDocument.Parsed;
  /** The document as plain data (toJS). */
  value: unknown;
}

/**
 * Every document of a YAML text, in order, as parsed document and plain data: the one reader
 * that split documents (`splitDocuments`) and stage edits (runner/yaml-merge.ts) both go
 * through. The whole text must parse before any document is read, so a syntax error anywhere
 * is reported before a document that parses but cannot be read (an alias to an anchor never
 * set). Either is a YamlTextError. `quiet` keeps the yaml library's warnings off stderr.
 */
export function yamlDocuments(yamlText: string, options: { quiet?: boolean } = {}): YamlDocumentEntry[] {
  const lines = lineCounter();
  const parsed = parseAllDocuments(yamlText, { prettyErrors: false, lineCounter: lines, ...(options.quiet ? { logLevel: 'error' as const } : {}) });
  // parseAllDocuments returns an EmptyStream (no docs) for empty input.
  const docs = Array.isArray(parsed) ? parsed : [];
  docs.forEach((doc, index) => {
    const err = doc.errors[0];
    if (!err) return;
    const at = err.pos[0] >= 0 ? lines.linePos(err.pos[0]) : undefined;
    const where = at ? ` at line ${at.line}, column ${at.col}` : '';
    throw new YamlTextError(`broken YAML${where}: ${err.message.split('\n')[0]}`, 'broken', err.message, index, at);
  });
  return docs.map((doc, index) => {
    try {
      return { index, doc, value: doc.toJS() as unknown };
    } catch (e) {
      const reason = (e as Error).message;
      throw new YamlTextError(`document ${index + 1}: ${reason.split('\n')[0]}`, 'unreadable', reason, index);
    }
  });
}

/** One split manifest out of a YAML text, as `splitDocuments` finds it. */
export interface SplitDocument {
  /** 0-based position among all the text's documents (messages say `document index + 1`). */
  index: number;
  kind: 'TrafficSplit' | 'GRPCRoute';
  /** metadata.name, when it is a string. */
  name?: string;
  obj: Record<string, unknown>;
  /** The document on its own, without a leading `---` line: what can be applied again later. */
  text: string;
}

/**
 * The split documents (TrafficSplit, GRPCRoute) in a YAML text, in order; other kinds are
 * skipped. Broken YAML, or a document that parses but cannot be read, is a SplitError
 * (YamlTextError) naming the line (or the document).
 */
export function splitDocuments(yamlText: string): SplitDocument[] {
  return yamlDocuments(yamlText).flatMap(({ index, doc, value }): SplitDocument[] => {
    if (!isSplitManifest(value)) return [];
    const o = value as Record<string, unknown>;
    const name = isObj(o.metadata) && typeof o.metadata.name === 'string' ? o.metadata.name : undefined;
    return [{ index, kind: o.kind as SplitDocument['kind'], ...(name !== undefined ? { name } : {}), obj: o, text: doc.toString().replace(/^---[^\n]*\n/, '') }];
  });
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
    refuseUnsupported(spec, ['parentRefs', 'rules'], 'GRPCRoute spec');
    if (!Array.isArray(spec.rules) || spec.rules.length === 0) throw new SplitError('GRPCRoute needs at least one rule');
    const rules = spec.rules.map((r, i) => grpcRule(r, `rules[${i}]`));
    const fallback = rules.find((r) => r.matches.length === 0) ?? rules[0]!;
    split = { apex, name, kind, backends: fallback.backends };
    if (rules.length > 1 || rules[0]!.matches.length > 0) split.rules = rules;
    for (const r of rules) validateBackends({ apex, backends: r.backends }, known);
  } else {
    throw new SplitError(`kind ${JSON.stringify(kind)} is not a split (expected TrafficSplit or GRPCRoute)`);
  }
  validateBackends(split, known);
  return split;
}

/** Refuse, in one line, fields of `o` this model does not implement (filters, hostnames, ...). */
function refuseUnsupported(o: Obj, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k) && o[k] !== undefined && o[k] !== null && !(Array.isArray(o[k]) && (o[k] as unknown[]).length === 0)) {
      throw new SplitError(`${where}.${k} is not supported by the local mesh (it implements ${allowed.join(', ')})`);
    }
  }
}

// The characters an Exact match may hold (the CRD's own validation rules on GRPCMethodMatch,
// gateway-api apis/v1/grpcroute_types.go, v1.2.1 and v1.4.0 alike).
const EXACT_SERVICE = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const EXACT_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

function matchType(v: unknown, what: string): MatchType {
  if (v === undefined) return 'Exact'; // the CRD's default
  if (v !== 'Exact' && v !== 'RegularExpression') {
    throw new SplitError(`${what} ${JSON.stringify(v)} is not supported (Exact or RegularExpression)`);
  }
  return v;
}

/** A regular expression as the local mesh runs it: JavaScript's, matched against the whole value. */
export function fullMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'u');
}

function checkRegex(pattern: string, what: string): void {
  try {
    fullMatch(pattern);
  } catch (e) {
    throw new SplitError(`${what} ${JSON.stringify(pattern)} is not a valid regular expression: ${(e as Error).message}`);
  }
}

function grpcRule(r: unknown, at: string): Rule {
  if (!isObj(r)) throw new SplitError(`${at} must be a mapping`);
  refuseUnsupported(r, ['name', 'matches', 'backendRefs'], at);
  if (r.matches !== undefined && !Array.isArray(r.matches)) throw new SplitError(`${at}.matches must be a list`);
  const matches = ((r.matches ?? []) as unknown[]).map((m, j) => grpcMatch(m, `${at}.matches[${j}]`));
  if (!Array.isArray(r.backendRefs)) throw new SplitError(`${at}.backendRefs must be a list`);
  const backends = r.backendRefs.map((b, i) => {
    const where = `${at}.backendRefs[${i}]`;
    if (!isObj(b)) throw new SplitError(`${where} must be a mapping`);
    if (b.kind !== undefined && b.kind !== 'Service') throw new SplitError(`${where}.kind must be Service`);
    refuseUnsupported(b, ['name', 'kind', 'group', 'namespace', 'port', 'weight'], where);
    // Gateway API: weight defaults to 1.
    return { service: str(b.name, `${where}.name`), weight: weight(b.weight ?? 1, `${where}.weight`) };
  });
  return { matches, backends };
}

function grpcMatch(m: unknown, at: string): RouteMatch {
  if (!isObj(m)) throw new SplitError(`${at} must be a mapping`);
  refuseUnsupported(m, ['method', 'headers'], at);
  const out: RouteMatch = { headers: [] };
  if (m.method !== undefined) {
    const mm = m.method;
    if (!isObj(mm)) throw new SplitError(`${at}.method must be a mapping`);
    refuseUnsupported(mm, ['type', 'service', 'method'], `${at}.method`);
    const type = matchType(mm.type, `${at}.method.type`);
    const method: MethodMatch = { type };
    for (const key of ['service', 'method'] as const) {
      const v = mm[key];
      if (v === undefined || v === '') continue;
      const text = str(v, `${at}.method.${key}`);
      if (type === 'RegularExpression') checkRegex(text, `${at}.method.${key}`);
      else if (!(key === 'service' ? EXACT_SERVICE : EXACT_METHOD).test(text)) {
        throw new SplitError(`${at}.method.${key} ${JSON.stringify(text)} is not a valid gRPC ${key} name`);
      }
      method[key] = text;
    }
    if (method.service === undefined && method.method === undefined) throw new SplitError(`${at}.method needs a service or a method`);
    out.method = method;
  }
  if (m.headers !== undefined) {
    if (!Array.isArray(m.headers)) throw new SplitError(`${at}.headers must be a list`);
    m.headers.forEach((h, k) => {
      const where = `${at}.headers[${k}]`;
      if (!isObj(h)) throw new SplitError(`${where} must be a mapping`);
      refuseUnsupported(h, ['type', 'name', 'value'], where);
      const type = matchType(h.type, `${where}.type`);
      const name = str(h.name, `${where}.name`);
      if (!HEADER_NAME.test(name)) throw new SplitError(`${where}.name ${JSON.stringify(name)} is not a header name`);
      const value = str(h.value, `${where}.value`);
      if (type === 'RegularExpression') checkRegex(value, `${where}.value`);
      // "If multiple entries specify equivalent header names, only the first entry with an
      // equivalent name MUST be considered" (GRPCHeaderMatch.Name).
      if (out.headers.some((x) => x.name === name.toLowerCase())) return;
      out.headers.push({ type, name: name.toLowerCase(), value });
    });
  }
  return out;
}

function weight(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new SplitError(`${what} must be a whole number >= 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Rules every split obeys, whichever manifest it came from. */
function validateBackends(split: Pick<Split, 'apex' | 'backends'>, known?: ReadonlySet<string>): void {
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

/**
 * A split as one line for logs, e.g. "greeter -> greeter-v1 95, greeter-v2 5" (raw weights);
 * with rules, each rule's matches before its backends:
 * "server -> [header x-canary=true] server-v2 1 | [*] server-v1 95, server-v2 5".
 */
export function describeSplit(s: Pick<Split, 'apex' | 'backends' | 'rules'>): string {
  const backends = (bs: readonly Backend[]) => bs.map((b) => `${b.service} ${b.weight}`).join(', ');
  if (!s.rules) return `${s.apex} -> ${backends(s.backends)}`;
  return `${s.apex} -> ${s.rules.map((r) => `[${r.matches.length ? r.matches.map(matchLabel).join(' or ') : '*'}] ${backends(r.backends)}`).join(' | ')}`;
}

function matchLabel(m: RouteMatch): string {
  const op = (t: MatchType) => (t === 'Exact' ? '=' : '~');
  const parts: string[] = [];
  if (m.method) parts.push(`method ${m.method.service ?? '*'}/${m.method.method ?? '*'}${m.method.type === 'Exact' ? '' : ' (regex)'}`);
  for (const h of m.headers) parts.push(`header ${h.name}${op(h.type)}${h.value}`);
  return parts.join(' and ') || '*';
}

/** What a rule is chosen by: the call's gRPC service and method (from :path) and its headers. */
export interface CallInfo {
  service: string;
  method: string;
  /** Lower-case names, as HTTP/2 carries them. */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** `/demo.v1.Greeter/SayHello` -> service demo.v1.Greeter, method SayHello. */
export function callInfo(path: string, headers: CallInfo['headers']): CallInfo {
  const q = path.indexOf('?');
  const p = q >= 0 ? path.slice(0, q) : path;
  const slash = p.lastIndexOf('/');
  return { service: p.slice(p.startsWith('/') ? 1 : 0, Math.max(0, slash)), method: p.slice(slash + 1), headers };
}

// Compiled once per pattern: a call must not build a RegExp.
const compiled = new Map<string, RegExp>();
function matches(type: MatchType, want: string, got: string): boolean {
  if (type === 'Exact') return want === got;
  let re = compiled.get(want);
  if (!re) compiled.set(want, (re = fullMatch(want)));
  return re.test(got);
}

function holds(m: RouteMatch, call: CallInfo): boolean {
  if (m.method) {
    if (m.method.service !== undefined && !matches(m.method.type, m.method.service, call.service)) return false;
    if (m.method.method !== undefined && !matches(m.method.type, m.method.method, call.method)) return false;
  }
  for (const h of m.headers) {
    const v = call.headers[h.name];
    if (v === undefined) return false;
    // A repeated header holds when one of its values does.
    const values = typeof v === 'string' ? [v] : v;
    if (!values.some((x) => matches(h.type, h.value, x))) return false;
  }
  return true;
}

/**
 * The rule a call takes, or undefined when none matches (GAMMA: "requests that do not match at
 * least one of the Routes will be rejected", site-src/mesh/index.md). A split without rules
 * takes every call. Precedence, per kubernetes-sigs/gateway-api apis/v1/grpcroute_types.go
 * (GRPCRouteRule.Matches; the same text at v1.2.1, which scripts/versions.sh pins for Linkerd
 * 2.20, and at v1.4.0): among the matches that hold, the one with the most characters in
 * its service, then in its method, then the most header matches; ties go to the first rule
 * (a rule without matches counts as one match of none of these). Characters are counted in
 * the value as written, for Exact and RegularExpression alike. Hostnames (the first two
 * criteria) and ties across Routes do not arise: the local mesh refuses hostnames and keeps
 * one route per Service.
 */
export function ruleFor(split: Pick<Split, 'backends' | 'rules'>, call: CallInfo): Pick<Rule, 'backends'> | undefined {
  if (!split.rules) return split;
  let best: Rule | undefined;
  let bestKey: [number, number, number] = [-1, -1, -1];
  for (const rule of split.rules) {
    for (const m of rule.matches.length ? rule.matches : [{ headers: [] } as RouteMatch]) {
      if (!holds(m, call)) continue;
      const key: [number, number, number] = [m.method?.service?.length ?? 0, m.method?.method?.length ?? 0, m.headers.length];
      if (key[0] > bestKey[0] || (key[0] === bestKey[0] && (key[1] > bestKey[1] || (key[1] === bestKey[1] && key[2] > bestKey[2])))) {
        best = rule;
        bestKey = key;
      }
    }
  }
  return best;
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
