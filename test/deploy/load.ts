// Reads every manifest document under deploy/, each with the file and line it starts on, so a
// failing check can name exactly where to look.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseAllDocuments } from 'yaml';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(REPO, 'deploy');

export type Obj = Record<string, any>;

export interface ManifestDoc {
  /** Path relative to the repository, e.g. deploy/linkerd/client.yaml. */
  file: string;
  /** 1-based line where the document starts. */
  line: number;
  obj: Obj;
}

/** "deploy/linkerd/client.yaml:1 Deployment client" */
export function where(d: ManifestDoc): string {
  return `${d.file}:${d.line} ${d.obj.kind} ${d.obj.metadata?.name ?? '(unnamed)'}`;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Parse one multi-document YAML text; empty documents are skipped, syntax errors throw. */
export function parseManifests(text: string, file: string): ManifestDoc[] {
  const lineCounter = new LineCounter();
  const docs: ManifestDoc[] = [];
  for (const doc of parseAllDocuments(text, { lineCounter })) {
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const line = lineCounter.linePos(start).line;
    if (doc.errors.length) throw new Error(`${file}:${line}: ${doc.errors[0]!.message.split('\n')[0]}`);
    const obj = doc.toJS() as unknown;
    if (obj === null || obj === undefined) continue;
    if (typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${file}:${line}: document is not a mapping`);
    docs.push({ file, line, obj: obj as Obj });
  }
  return docs;
}

export function loadManifests(dir = DEPLOY): ManifestDoc[] {
  return yamlFiles(dir).flatMap((f) => parseManifests(readFileSync(f, 'utf8'), relative(REPO, f)));
}

/** A deep copy to break on purpose: every check must be seen to fail on a broken input. */
export function clone<T>(v: T): T {
  return structuredClone(v);
}
