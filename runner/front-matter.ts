// What a document declares about where it runs, in YAML front matter at its top: which
// targets exist (and the default), how long a check waits on each, the command that prints
// each target's client summary lines (the meshed client's, and the direct client's), and
// where the manifests are that map a split's backends to versions. The runner itself knows
// no target, namespace, label or folder: another traffic tutorial declares its own.
//
//   ---
//   targets:
//     local:
//       verify-timeout: 30s
//       traffic: {follow: node follow-client.mjs, retry: 1s}
//       direct: blocks
//   default-target: local
//   manifests: deploy
//   ---
//
// Validated before anything runs: an unknown key or a bad value is a DocumentError at its
// line (exit 2). A document without front matter has one target, `default`, and no traffic.

import type { Node, YAMLMap } from 'yaml';
import { isMap, isScalar, lineCounter, parseDocument } from '../lib/yaml.ts';
import { AttributeError, parseDuration, TARGET_NAME } from './attributes.ts';
import { DocumentError } from './errors.ts';

/** A command, run by bash in the document's folder, whose output is followed for summary lines. */
export interface FollowCommand {
  /** The bash command line; it is started again `retryMs` after it ends, until the run ends. */
  follow: string;
  retryMs: number;
}

export interface TargetConfig {
  name: string;
  /** How long a check waits for the traffic to match; --verify-timeout wins. */
  verifyTimeoutMs?: number;
  /** The meshed client's summary lines: without it, no traffic is checked on this target. */
  traffic?: FollowCommand;
  /** The direct client's lines (client=direct claims): printed by the section's blocks, or followed. */
  direct?: 'blocks' | FollowCommand;
}

export interface DocumentConfig {
  targets: TargetConfig[];
  defaultTarget: string;
  /** Absolute folder of the manifests (Deployments, Services), or null when none is declared. */
  manifests: string | null;
}

/** A document without front matter: one target and no traffic to follow. */
export const PLAIN_TARGET = 'default';

export function plainConfig(): DocumentConfig {
  return { targets: [{ name: PLAIN_TARGET }], defaultTarget: PLAIN_TARGET, manifests: null };
}

/** Default retry of a follow command that ends (or cannot start yet). */
const DEFAULT_RETRY_MS = 1000;

const TOP_KEYS = ['targets', 'default-target', 'manifests'];
const TARGET_KEYS = ['verify-timeout', 'traffic', 'direct'];
const FOLLOW_KEYS = ['follow', 'retry'];

/** The front matter's text and its first line, or null when the document has none. */
export function frontMatter(text: string): { yaml: string; line: number; lines: number } | null {
  if (!text.startsWith('---\n')) return null;
  const lines = text.split('\n');
  const end = lines.findIndex((l, i) => i > 0 && (l === '---' || l === '...'));
  if (end < 0) return null;
  return { yaml: lines.slice(1, end).join('\n'), line: 2, lines: end + 1 };
}

/**
 * Parse and validate front matter `yaml` (whose first line is `firstLine` of `file`).
 * `dir` is the document's folder, which `manifests` is relative to.
 */
export function parseFrontMatter(yaml: string, file: string, firstLine: number, dir: string, resolvePath: (dir: string, p: string) => string): DocumentConfig {
  const counter = lineCounter();
  const doc = parseDocument(yaml, { lineCounter: counter, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined) => firstLine - 1 + (node?.range ? counter.linePos(node.range[0]).line : 1);
  const fail = (node: Node | null | undefined, what: string): never => {
    throw new DocumentError(file, lineOf(node), `front matter: ${what}`);
  };
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    throw new DocumentError(file, firstLine - 1 + (err.linePos?.[0].line ?? 1), `front matter: ${err.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (!isMap(root)) return fail(root, 'must be a mapping of targets, default-target and manifests');

  const entries = (map: YAMLMap, where: string, known: string[]) =>
    map.items.map((pair) => {
      const key = pair.key as Node;
      const name = isScalar(key) ? String(key.value) : '';
      if (!known.includes(name)) fail(key, `unknown key ${JSON.stringify(name)}${where} (known: ${known.join(', ')})`);
      return { name, key, value: pair.value as Node | null };
    });
  const text = (node: Node | null, what: string): string => {
    if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') return fail(node, `${what} must be a non-empty string`);
    return node.value;
  };
  const duration = (node: Node | null, what: string): number => {
    const raw = isScalar(node) ? String(node.value) : '';
    try {
      return parseDuration(raw, what);
    } catch (e) {
      if (e instanceof AttributeError) return fail(node, e.message);
      throw e;
    }
  };
  const follow = (node: Node | null, what: string): FollowCommand => {
    if (!isMap(node)) return fail(node, `${what} must be a mapping with follow: COMMAND (and retry: DURATION)`);
    const cmd: Partial<FollowCommand> = { retryMs: DEFAULT_RETRY_MS };
    for (const { name, value } of entries(node, ` in ${what}`, FOLLOW_KEYS)) {
      if (name === 'follow') cmd.follow = text(value, `${what}.follow`);
      else cmd.retryMs = duration(value, `${what}.retry`);
    }
    if (cmd.follow === undefined) fail(node, `${what} needs follow: COMMAND`);
    return cmd as FollowCommand;
  };

  const config: DocumentConfig = { targets: [], defaultTarget: '', manifests: null };
  let defaultNode: Node | null = null;
  let targetsNode: Node | null = null;
  for (const { name, key, value } of entries(root, '', TOP_KEYS)) {
    if (name === 'manifests') config.manifests = resolvePath(dir, text(value, 'manifests'));
    else if (name === 'default-target') {
      config.defaultTarget = text(value, 'default-target');
      defaultNode = value;
    } else {
      targetsNode = key;
      if (!isMap(value) || value.items.length === 0) fail(value ?? key, 'targets must map each target name to its settings');
      for (const pair of (value as YAMLMap).items) {
        const tkey = pair.key as Node;
        const tname = isScalar(tkey) ? String(tkey.value) : '';
        if (!TARGET_NAME.test(tname)) fail(tkey, `target name must be lower-case letters, digits and -, got ${JSON.stringify(tname)}`);
        const target: TargetConfig = { name: tname };
        const settings = pair.value as Node | null;
        if (settings !== null && !(isScalar(settings) && settings.value === null)) {
          if (!isMap(settings)) fail(settings, `target ${tname} must be a mapping (${TARGET_KEYS.join(', ')})`);
          for (const { name: k, value: v } of entries(settings as YAMLMap, ` in target ${tname}`, TARGET_KEYS)) {
            if (k === 'verify-timeout') target.verifyTimeoutMs = duration(v, `${tname}.verify-timeout`);
            else if (k === 'traffic') target.traffic = follow(v, `${tname}.traffic`);
            else if (isScalar(v) && v.value === 'blocks') target.direct = 'blocks';
            else if (isMap(v)) target.direct = follow(v, `${tname}.direct`);
            else fail(v, `${tname}.direct must be blocks (the section's blocks print the lines) or a mapping with follow: COMMAND`);
          }
        }
        config.targets.push(target);
      }
    }
  }
  if (!targetsNode) return fail(root, 'needs targets: (each target name with its settings)');
  const names = config.targets.map((t) => t.name);
  if (config.defaultTarget === '') config.defaultTarget = names[0]!;
  else if (!names.includes(config.defaultTarget)) fail(defaultNode, `default-target ${JSON.stringify(config.defaultTarget)} is not one of the targets (${names.join(', ')})`);
  const traffic = config.targets.find((t) => t.traffic || t.direct);
  if (traffic && config.manifests === null) fail(root, `target ${traffic.name} follows traffic, so manifests: (the folder whose Services map backends to versions) is needed`);
  return config;
}
