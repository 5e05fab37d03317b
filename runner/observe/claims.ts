// Traffic claims: what the author says the client's traffic must show after a section, in a
// directive next to the prose that says it:
//   <!-- runner:expect pinned client=direct -->
//   <!-- runner:expect spread versions=v1 -->
//   <!-- runner:expect shares v1=95 v2=5 -->
//   <!-- runner:expect errors none -->            <!-- runner:expect errors from=v2 rate=2.5% -->
// This module reads and validates them (a bad one is a DocumentError at its FILE:LINE before
// anything runs); claim-checks.ts judges them against summaries. Keys every claim takes:
//   client=meshed|direct   whose summary lines: the meshed client (default) or the direct one
//   calls=N                calls needed before a verdict (default per claim)
//   windows=N              summary windows in a row needed before a verdict (default per claim)
// shares and errors also take group=header|plain: only the calls that carried the client's
// header (HEADER_SHARE), or only the others, as the summaries count them (Summary.groups).

import type { Document, Section } from '../document.ts';
import { DocumentError } from '../errors.ts';

export type ClaimKind = 'pinned' | 'spread' | 'shares' | 'errors';
export const CLAIM_KINDS: readonly ClaimKind[] = ['pinned', 'spread', 'shares', 'errors'];
export type ClientName = 'meshed' | 'direct';
export const CLIENTS: readonly ClientName[] = ['meshed', 'direct'];
export type GroupName = 'header' | 'plain';
export const GROUPS: readonly GroupName[] = ['header', 'plain'];

interface ClaimBase {
  /** The directive's line. */
  line: number;
  /** How many of the section's blocks stand above it. */
  afterBlocks: number;
  client: ClientName;
  /** Calls needed before a verdict; null: derived from the sample size the claim needs. */
  calls: number | null;
  /** Windows in a row needed before a verdict. */
  windows: number;
  /** Only the calls of this group (shares and errors): with the client's header, or without. */
  group?: GroupName;
  /** The directive's arguments, normalised: how --dry-run and the results name the claim. */
  text: string;
}

/** Every successful call of the client went to one pod. */
export interface PinnedClaim extends ClaimBase {
  kind: 'pinned';
}

/** Every pod of these versions got calls, none starved, no other version got any. */
export interface SpreadClaim extends ClaimBase {
  kind: 'spread';
  versions: string[];
}

/** The share of calls per version, as weights (normalised when checked). */
export interface SharesClaim extends ClaimBase {
  kind: 'shares';
  weights: Record<string, number>;
}

/**
 * No failed calls (`from` absent), or failures only from one version, at about `rate`.
 * `calls` null: derived when checked (claim-checks.ts errorsCalls).
 */
export interface ErrorsClaim extends ClaimBase {
  kind: 'errors';
  from?: string;
  /** Failed calls / all calls, 0..1; absent: any rate. */
  rate?: number;
}

export type Claim = PinnedClaim | SpreadClaim | SharesClaim | ErrorsClaim;

/**
 * Defaults. pinned: null, derived when checked from the pods there are (claim-checks.ts
 * pinnedCalls: the fewest calls that a balancing client would put all on one pod with
 * probability under 1/1000), and one window: the direct client has no change to converge
 * to, and it may run only a few seconds. The others compare shares, which need more calls
 * and a run of windows (the client settling after a change) for a bound that means something.
 */
const DEFAULT_CALLS: Record<ClaimKind, number | null> = { pinned: null, spread: 100, shares: 100, errors: null };
const DEFAULT_WINDOWS: Record<ClaimKind, number> = { pinned: 1, spread: 3, shares: 3, errors: 3 };

const KEYS: Record<ClaimKind, readonly string[]> = {
  pinned: [],
  spread: ['versions'],
  shares: [],
  errors: ['from', 'rate'],
};
const COMMON_KEYS = ['client', 'calls', 'windows', 'group'];
/** The claims that can be judged on one group of calls: the groups carry counts per version, not per pod. */
const GROUPED: readonly ClaimKind[] = ['shares', 'errors'];
const VERSION = /^[a-z0-9][a-z0-9-]*$/;

/** Every section's claims, validated; the first bad one throws. */
export function documentClaims(doc: Document): Map<Section, Claim[]> {
  const res = new Map<Section, Claim[]>();
  for (const section of doc.sections) {
    const claims = sectionClaims(doc.file, section);
    if (claims.length) res.set(section, claims);
  }
  return res;
}

export function sectionClaims(file: string, section: Section): Claim[] {
  return section.directives.filter((d) => d.kind === 'expect').map((d) => parseClaim(d.args, file, d.line, d.afterBlocks));
}

export function parseClaim(args: string, file: string, line: number, afterBlocks = 0): Claim {
  const bad = (msg: string) => new DocumentError(file, line, `runner:expect: ${msg}`);
  const words = args.split(' ').filter(Boolean);
  const kind = words.shift();
  if (!kind) throw bad(`names no claim (known: ${CLAIM_KINDS.join(', ')})`);
  if (!(CLAIM_KINDS as readonly string[]).includes(kind)) throw bad(`unknown claim ${JSON.stringify(kind)} (known: ${CLAIM_KINDS.join(', ')})`);
  const k = kind as ClaimKind;
  const kv = new Map<string, string>();
  let none = false;
  for (const w of words) {
    if (k === 'errors' && w === 'none') {
      none = true;
      continue;
    }
    const eq = w.indexOf('=');
    if (eq <= 0 || eq === w.length - 1) throw bad(`${kind}: expected key=value, got ${JSON.stringify(w)}`);
    const key = w.slice(0, eq);
    if (kv.has(key)) throw bad(`${kind}: ${key}= given twice`);
    kv.set(key, w.slice(eq + 1));
  }
  const group = kv.get('group');
  if (group !== undefined) {
    if (!GROUPED.includes(k)) throw bad(`${kind}: group= is for ${GROUPED.join(' and ')} claims (the call groups carry counts per version, not per pod)`);
    if (!(GROUPS as readonly string[]).includes(group)) throw bad(`${kind}: group= must be ${GROUPS.join(' or ')}, got ${JSON.stringify(group)}`);
  }
  const common = GROUPED.includes(k) ? COMMON_KEYS : COMMON_KEYS.filter((x) => x !== 'group');
  const known = k === 'shares' ? common : [...common, ...KEYS[k]];
  for (const key of kv.keys()) {
    if (k === 'shares' && !COMMON_KEYS.includes(key)) {
      if (!VERSION.test(key)) throw bad(`shares: ${JSON.stringify(key)} is not a version name`);
      continue;
    }
    if (!known.includes(key)) throw bad(`${kind}: unknown key ${key}= (known: ${[...known, ...(k === 'shares' ? ['VERSION'] : [])].map((x) => `${x}=`).join(', ')})`);
  }
  const whole = <D extends number | null>(key: string, dflt: D): number | D => {
    const v = kv.get(key);
    if (v === undefined) return dflt;
    if (!/^[1-9]\d*$/.test(v)) throw bad(`${kind}: ${key}= takes a whole number >= 1, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  const client = kv.get('client') ?? 'meshed';
  if (!(CLIENTS as readonly string[]).includes(client)) throw bad(`${kind}: client= must be ${CLIENTS.join(' or ')}, got ${JSON.stringify(client)}`);
  const base = {
    line,
    afterBlocks,
    client: client as ClientName,
    calls: whole('calls', DEFAULT_CALLS[k]),
    windows: whole('windows', DEFAULT_WINDOWS[k]),
    ...(group !== undefined ? { group: group as GroupName } : {}),
    text: [kind, ...(none ? ['none'] : []), ...[...kv].map(([a, b]) => `${a}=${b}`)].join(' '),
  };
  switch (k) {
    case 'pinned':
      return { kind: k, ...base };
    case 'spread': {
      const v = kv.get('versions');
      if (!v) throw bad('spread: needs versions=V[,V...] (the versions whose pods must all get calls)');
      const versions = v.split(',');
      for (const x of versions) if (!VERSION.test(x)) throw bad(`spread: versions= has ${JSON.stringify(x)}, not a version name`);
      return { kind: k, ...base, versions: [...new Set(versions)].sort() };
    }
    case 'shares': {
      const weights: Record<string, number> = {};
      for (const [key, w] of kv) {
        if (COMMON_KEYS.includes(key)) continue;
        if (!/^\d+(\.\d+)?$/.test(w)) throw bad(`shares: ${key}= takes a weight (a number >= 0), got ${JSON.stringify(w)}`);
        weights[key] = Number(w);
      }
      const sum = Object.values(weights).reduce((a, b) => a + b, 0);
      if (sum === 0) throw bad('shares: needs VERSION=WEIGHT pairs with a weight above 0, e.g. shares v1=95 v2=5');
      return { kind: k, ...base, weights };
    }
    case 'errors': {
      const from = kv.get('from');
      const rateText = kv.get('rate');
      if (none && (from !== undefined || rateText !== undefined)) throw bad('errors: none takes no from= or rate=');
      if (!none && from === undefined) throw bad('errors: say none, or from=VERSION [rate=R] (e.g. errors from=v2 rate=2.5%)');
      if (from !== undefined && !VERSION.test(from)) throw bad(`errors: from= takes a version name, got ${JSON.stringify(from)}`);
      const claim: ErrorsClaim = { kind: k, ...base };
      if (from !== undefined) claim.from = from;
      if (rateText !== undefined) claim.rate = parseRate(rateText, bad);
      return claim;
    }
  }
}

/** "2.5%" or "0.025": a fraction of all calls, above 0 and below 1. */
function parseRate(text: string, bad: (m: string) => Error): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
  const r = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(r > 0 && r < 1)) throw bad(`errors: rate= takes a share of calls above 0 and below 1 (e.g. 2.5% or 0.025), got ${JSON.stringify(text)}`);
  return r;
}
