// The merge of a stage edit: a ```yaml {file=...} block merged into that file's text. Mappings merge,
// sequences and scalars replace, a leading `...` (the "rest of the file" elision readers
// write) is dropped. In a multi-document file the block merges into the document of the
// same kind (and name, if it says one). The result must still parse and, for a TrafficSplit
// or GRPCRoute, be a valid split (lib/split.ts). On any error nothing is written.
// Only the edited document is re-rendered; the rest of the file stays byte for byte.
// Pure: the block and the file's text in, the edit out; stage-edit.ts reads and writes files.

import path from 'node:path';
import type { Document as YamlDocument, Node as YamlNode, Pair, YAMLMap } from 'yaml';
import { isMap, isScalar, lineCounter, parseDocument } from '../lib/yaml.ts';
import { isSplitManifest, SplitError, splitFromManifest, yamlDocuments, YamlTextError, type Split, type YamlDocumentEntry } from '../lib/split.ts';
import type { Block, Document } from './document.ts';
import { DocumentError } from './errors.ts';

// The yaml library's warnings (e.g. a collection used as a key) go to stderr as Node process
// warnings; what matters is reported as errors, in one line.
const QUIET = 'error' as const;

export interface StageEdit {
  /** As written in the block, relative to the document's folder. */
  file: string;
  path: string;
  before: string;
  after: string;
  /** Set when the edited document is a TrafficSplit or GRPCRoute. */
  split: Split | null;
}

/** Merge a stage block into `current` (the file's text). Throws DocumentError; never writes. */
export function computeEdit(doc: Pick<Document, 'file' | 'dir'>, block: Block, current: string): StageEdit {
  const file = block.file!;
  const at = (line: number, msg: string) => new DocumentError(doc.file, line, msg);
  const textStart = block.line + 1;

  // The elision line becomes blank so error lines still point into the block.
  const snippet = block.text.replace(/^(\s*\n)*\s*\.\.\.[ \t]*(?=\n|$)/, (m) => m.replace(/[^\n]/g, ''));
  const patchCounter = lineCounter();
  const patch = parseDocument(snippet, { lineCounter: patchCounter, keepSourceTokens: false, logLevel: QUIET });
  if (patch.errors.length > 0) {
    const e = patch.errors[0]!;
    const line = e.linePos ? textStart + e.linePos[0].line - 1 : block.line;
    throw at(line, `bad YAML in the edit for ${file}: ${firstLine(e.message)}`);
  }
  if (!isMap(patch.contents)) throw at(block.line, `the edit for ${file} must be a YAML mapping`);
  const patchLine = (node: YamlNode | null | undefined): number =>
    node?.range ? textStart + patchCounter.linePos(node.range[0]).line - 1 : block.line;

  // toJS() throws on what parses but cannot be read (an alias to an anchor never set).
  const patchValue = toJs(patch, (m) => at(block.line, `bad YAML in the edit for ${file}: ${m}`));

  const docs = readDocuments(current, (m, line) => at(block.line, `${line === undefined ? file : `${file}:${line}`} is not valid YAML before the edit: ${m}`));
  if (docs.length === 0) throw at(block.line, `${file} holds no YAML document to merge into`);
  const index = pickDocument(docs, patchValue as Record<string, unknown>, file, (m) => at(block.line, m));
  const target = docs[index]!.doc;
  mergeMaps(target.contents as YAMLMap, patch.contents);

  // Splice only the edited document back into the text.
  const start = index === 0 ? 0 : target.range[0];
  const end = target.range[2];
  let rendered: string;
  try {
    rendered = target.toString();
  } catch (e) {
    // The yaml library cannot write some values back (e.g. a !!binary scalar).
    throw at(block.line, `the edit for ${file} cannot be written as YAML: ${firstLine((e as Error).message)}`);
  }
  const after = current.slice(0, start) + rendered + current.slice(end);

  const reparsed = readDocuments(after, (m) => at(block.line, `${file} would not parse after the edit: ${m}`));
  if (reparsed.length === 0) throw at(block.line, `${file} would not parse after the edit: empty`);
  const edited = reparsed[index]!.value;
  let split: Split | null = null;
  if (isSplitManifest(edited)) {
    try {
      split = splitFromManifest(edited);
    } catch (e) {
      if (!(e instanceof SplitError)) throw e;
      // Point at the `backends:` (or `rules:`) line of the edit when it has one.
      const spec = keyNode(patch.contents, 'spec');
      const specMap = patch.contents.get('spec', true);
      const focus = isMap(specMap) ? (keyNode(specMap, 'backends') ?? keyNode(specMap, 'rules')) : undefined;
      throw at(patchLine(focus ?? spec), `${file}: ${e.message}`);
    }
  }
  return { file, path: path.resolve(doc.dir, file), before: current, after, split };
}

/**
 * The file's documents through lib/split.ts's one reader, with its errors worded for a stage
 * edit: the yaml library's first line, and the file's line when the text does not parse.
 */
function readDocuments(text: string, fail: (message: string, line?: number) => Error): YamlDocumentEntry[] {
  try {
    return yamlDocuments(text, { quiet: true });
  } catch (e) {
    if (!(e instanceof YamlTextError)) throw e;
    if (e.problem === 'unreadable') throw fail(firstLine(e.reason));
    // As the yaml library words it with its positions on (prettyErrors).
    throw fail(firstLine(e.at ? `${e.reason} at line ${e.at.line}, column ${e.at.col}` : e.reason), e.at?.line);
  }
}

/** Among all the mapping documents (not only splits): the one of the edit's kind, and name if it says one. */
function pickDocument(docs: YamlDocumentEntry[], patch: Record<string, unknown>, file: string, fail: (msg: string) => Error): number {
  const kind = typeof patch.kind === 'string' ? patch.kind : undefined;
  const meta = patch.metadata as Record<string, unknown> | undefined;
  const name = typeof meta?.name === 'string' ? meta.name : undefined;
  const describe = (value: unknown) => {
    const js = value as Record<string, any> | null;
    return `${js?.kind ?? '?'}/${js?.metadata?.name ?? '?'}`;
  };
  let candidates = docs.filter(({ doc }) => isMap(doc.contents)).map(({ index, value }) => ({ index, js: value as Record<string, any> }));
  if (kind !== undefined) candidates = candidates.filter(({ js }) => js.kind === kind);
  if (name !== undefined && candidates.length > 1) {
    candidates = candidates.filter(({ js }) => js?.metadata?.name === name);
  }
  if (candidates.length === 1) return candidates[0]!.index;
  const all = docs.map(({ value }) => describe(value)).join(', ');
  if (candidates.length === 0) {
    throw fail(`${file} has no ${kind ?? 'mapping'} document${name ? ` named ${name}` : ''} to merge into (it holds ${all})`);
  }
  throw fail(`${file} holds several documents (${all}): say which with kind: (and metadata.name) in the edit`);
}

function toJs(doc: YamlDocument, fail: (message: string) => Error): unknown {
  try {
    return doc.toJS();
  } catch (e) {
    throw fail(firstLine((e as Error).message));
  }
}

function keyNode(map: YAMLMap, key: string): YamlNode | undefined {
  const pair = (map.items as Pair<YamlNode, unknown>[]).find((p) => keyOf(p.key) === key);
  return pair?.key;
}

function keyOf(node: unknown): string {
  return isScalar(node) ? String(node.value) : String(node);
}

/** Merge `patch` into `target` in place, keeping the target's comments where nodes are replaced. */
function mergeMaps(target: YAMLMap, patch: YAMLMap): void {
  for (const pair of patch.items as Pair<YamlNode, YamlNode | null>[]) {
    const key = keyOf(pair.key);
    const existing = (target.items as Pair<YamlNode, YamlNode | null>[]).find((p) => keyOf(p.key) === key);
    if (!existing) {
      target.items.push(pair);
      continue;
    }
    const old = existing.value;
    const next = pair.value;
    if (isMap(old) && isMap(next)) {
      mergeMaps(old, next);
      continue;
    }
    if (next && old) {
      if (!next.comment && old.comment) next.comment = old.comment;
      if (!next.commentBefore && old.commentBefore) next.commentBefore = old.commentBefore;
    }
    existing.value = next;
  }
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0]!.trim().replace(/:$/, '');
}
