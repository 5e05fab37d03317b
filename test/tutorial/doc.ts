// Reading tutorial.md and the manifests for the tutorial's tests: the fenced blocks (with
// their line, language and target), the shell words of the run blocks, and deploy/'s objects by
// name. Small on purpose: the runner has the real document model; these tests only need to see
// names.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marked, type Token, type Tokens } from 'marked';
import type { ManifestDoc } from '../deploy/load.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TUTORIAL = join(ROOT, 'tutorial.md');

export interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** The raw text inside braces after the language, if any. */
  info: string;
  target?: 'local' | 'kind';
  file?: string;
  text: string;
}

export function readTutorial(): string {
  return readFileSync(TUTORIAL, 'utf8');
}

/** Every fenced block, in order, nested ones included. */
export function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  let offset = 0;
  const visit = (tokens: Token[], top: boolean) => {
    for (const t of tokens) {
      if (t.type === 'code' && (t as Tokens.Code).codeBlockStyle !== 'indented') {
        const code = t as Tokens.Code;
        const at = top ? offset : markdown.indexOf(code.raw.trimStart(), 0);
        const line = markdown.slice(0, Math.max(at, 0)).split('\n').length + leadingNewlines(code.raw);
        const [lang = '', ...rest] = (code.lang ?? '').trim().split(/\s+/);
        const info = rest.join(' ').replace(/^\{|\}$/g, '');
        const target = /(?:^|\s)target=(local|kind)(?:\s|$)/.exec(info)?.[1] as Block['target'];
        const file = /(?:^|\s)file=(\S+)/.exec(info)?.[1];
        out.push({ line, lang: lang.toLowerCase(), info, ...(target ? { target } : {}), ...(file ? { file } : {}), text: code.text });
      }
      const nested = (t as { tokens?: Token[] }).tokens ?? (t as { items?: Token[] }).items;
      if (nested) visit(nested, false);
      if (top) offset += t.raw.length;
    }
  };
  visit(marked.lexer(markdown), true);
  return out;
}

function leadingNewlines(raw: string): number {
  return raw.length - raw.replace(/^\n+/, '').length;
}

const isRun = (b: Block) => ['sh', 'bash', 'shell'].includes(b.lang);

/** Run blocks for a target: those without a target, and those for it. */
export function runBlocks(all: Block[], target: 'local' | 'kind'): Block[] {
  return all.filter((b) => isRun(b) && (b.target === undefined || b.target === target));
}

/**
 * The shell commands of a block as word lists: continuation lines joined, comments dropped,
 * split on `|`, `;`, `&&`, `||` and newlines, quotes removed. Good enough for the plain
 * commands a tutorial shows; not a shell parser.
 */
export function commands(text: string): string[][] {
  const joined = text.replace(/\\\n/g, ' ');
  const cmds: string[][] = [];
  for (const line of joined.split('\n')) {
    let words: string[] = [];
    let word = '';
    let inWord = false;
    let quote: string | null = null;
    const flush = () => {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    };
    const end = () => {
      flush();
      if (words.length) cmds.push(words);
      words = [];
    };
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quote) {
        if (c === quote) quote = null;
        else word += c;
        continue;
      }
      if (c === '"' || c === "'") {
        quote = c;
        inWord = true;
        continue;
      }
      if (c === '#' && !inWord) break;
      if (c === ' ' || c === '\t') {
        flush();
        continue;
      }
      if (c === '|' || c === ';' || c === '&') {
        end();
        continue;
      }
      word += c;
      inWord = true;
    }
    end();
  }
  return cmds;
}

// ---- manifests -------------------------------------------------------------------------
// Read with test/deploy/load.ts's loadManifests; these tests only look objects up by name.

/** Objects of one kind by metadata.name (a later one of the same name wins). */
export function named(all: ManifestDoc[], kind: string): Map<string, ManifestDoc> {
  return new Map(all.filter((m) => m.obj.kind === kind).map((m) => [String(m.obj.metadata?.name), m]));
}
