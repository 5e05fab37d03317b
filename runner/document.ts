// Markdown in, sections and blocks out, each with its exact line. Pure: no I/O except
// readDocument. marked gives no positions, but the top-level tokens' raw strings add up to
// the source, so lines are counted from them; nested tokens (lists, quotes) are found
// inside their parent's raw text in order.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Lexer, type Token, type Tokens } from 'marked';
import { AttributeError, parseInfo, RUN_LANGS, STAGE_LANGS, type Attributes, type Target } from './attributes.ts';
import { DirectiveError, scanDirectives, type Directive } from './directives.ts';
import { DocumentError, UsageError } from './errors.ts';
import { frontMatter, parseFrontMatter, plainConfig, type DocumentConfig } from './front-matter.ts';
import { createSlugger } from './slug.ts';

export type BlockKind = 'run' | 'background' | 'stage' | 'show';

export interface Block {
  /** Line of the opening fence, 1-based. */
  line: number;
  lang: string;
  kind: BlockKind;
  /** null: runs on every target. */
  target: Target | null;
  /** Stage edits: the file they merge into, relative to the document's folder. */
  file: string | null;
  text: string;
  attrs: Attributes;
  /** Number of the section the block belongs to. */
  section: number;
  /** Background blocks: the name of their log (.tutorial/<name>.log). */
  name: string | null;
}

export interface Section {
  /** 1-based in document order; 0 only for blocks above the first heading. */
  number: number;
  id: string;
  title: string;
  depth: number;
  line: number;
  /** First paragraph, as Markdown source, shown before the section runs. */
  intro: string;
  blocks: Block[];
  /** `<!-- runner:KIND ... -->` comments in the section, in order (see directives.ts). */
  directives: Directive[];
}

export interface Document {
  /** The path as the user gave it, for messages. */
  file: string;
  /** Absolute folder of the document: blocks run there, stage paths are relative to it. */
  dir: string;
  sections: Section[];
  /** What the front matter declares: targets, traffic to follow, manifests. */
  config: DocumentConfig;
}

export function readDocument(file: string): Document {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: cannot read (${code === 'ENOENT' ? 'no such file' : code ?? String(e)})`);
  }
  return parseDocument(text, file, path.dirname(path.resolve(file)));
}

export function parseDocument(source: string, file: string, dir = '.'): Document {
  const normalized = source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const front = frontMatter(normalized);
  const config = front ? parseFrontMatter(front.yaml, file, front.line, dir, path.resolve) : plainConfig();
  const targets = config.targets.map((t) => t.name);
  // Front matter is not Markdown: blanked, so line numbers stay exact.
  const text = front ? '\n'.repeat(front.lines) + normalized.split('\n').slice(front.lines).join('\n') : normalized;
  const sections: Section[] = [];
  const nextId = createSlugger();
  let current: Section | null = null;
  const names = new Map<string, number>();
  let headings = 0;

  // One lexer for the document: a heading's text is lexed inline with the link definitions
  // its block pass found (a `[text][ref]` heading reads "text").
  const lexer = new Lexer();
  const visit = (token: Token, line: number): void => {
    if (token.type === 'heading') {
      const title = plainText(lexer.inlineTokens((token as Tokens.Heading).text)).trim();
      current = {
        number: ++headings,
        id: nextId(title),
        title,
        depth: (token as Tokens.Heading).depth,
        line,
        intro: '',
        blocks: [],
        directives: [],
      };
      sections.push(current);
      return;
    }
    if (token.type === 'html') {
      // A <details> block with fences is lexed again inside (walkChildren): read it there, once.
      if (hasDetailsFence(token.raw)) return;
      if (!current) {
        current = { number: 0, id: '', title: '(before the first heading)', depth: 0, line: 1, intro: '', blocks: [], directives: [] };
        sections.push(current);
      }
      try {
        current.directives.push(...scanDirectives(token.raw.replace(/^\n+/, ''), line, current.blocks.length));
      } catch (e) {
        if (e instanceof DirectiveError) throw new DocumentError(file, line + e.offset, e.message);
        throw e;
      }
      return;
    }
    if (token.type === 'paragraph') {
      if (current && current.intro === '' && current.blocks.length === 0) current.intro = (token as Tokens.Paragraph).text;
      return;
    }
    if (token.type !== 'code' || (token as Tokens.Code).codeBlockStyle === 'indented') return;
    if (!current) {
      current = { number: 0, id: '', title: '(before the first heading)', depth: 0, line: 1, intro: '', blocks: [], directives: [] };
      sections.push(current);
    }
    const block = toBlock(token as Tokens.Code, line, file, current.number);
    if (block.target !== null && !targets.includes(block.target)) {
      const plain = front ? '' : ' (a document without front matter has one target; declare others in front matter, see --help)';
      throw new DocumentError(file, line, `target must be ${targets.join(' or ')}, got ${JSON.stringify(block.target)}${plain}`);
    }
    if (block.name !== null) {
      const other = names.get(block.name);
      if (other !== undefined) {
        throw new DocumentError(file, line, `background name ${JSON.stringify(block.name)} is already used at line ${other}`);
      }
      names.set(block.name, line);
    }
    current.blocks.push(block);
  };

  // marked's block pass only, not its inline pass: only headings' text is read inline (above),
  // and the inline pass over every paragraph was most of what lexing this tutorial cost (25 of
  // 27 ms, which --list pays at every start).
  walkSequence(lexer.blockTokens(text, lexer.tokens), 1, visit);
  return { file, dir, sections, config };
}

function toBlock(token: Tokens.Code, line: number, file: string, section: number): Block {
  let info;
  try {
    info = parseInfo(rawInfo(token));
  } catch (e) {
    if (e instanceof AttributeError) throw new DocumentError(file, line, e.message);
    throw e;
  }
  const { lang, attrs } = info;
  let kind: BlockKind = 'show';
  if (RUN_LANGS.has(lang)) kind = attrs.background ? 'background' : 'run';
  else if (STAGE_LANGS.has(lang) && attrs.file !== undefined) kind = 'stage';
  if (attrs.skip) kind = 'show';
  return {
    line,
    lang,
    kind,
    target: attrs.target ?? null,
    file: attrs.file ?? null,
    text: token.text,
    attrs,
    section,
    name: kind === 'background' ? (attrs.name ?? `background-${line}`) : null,
  };
}

/**
 * The info string as written. marked's `lang` has Markdown's backslash escapes applied,
 * which would turn ready="\(ok\)" into a different regex; the fence line keeps them.
 */
function rawInfo(token: Tokens.Code): string {
  const fenceLine = token.raw.replace(/^\n+/, '').split('\n', 1)[0]!;
  const m = /^\s*(`{3,}|~{3,})(.*)$/.exec(fenceLine);
  return m ? m[2]!.trim() : (token.lang ?? '');
}

/** Tokens whose raw strings are consecutive pieces of one text starting at `line`. */
function walkSequence(tokens: Token[], line: number, visit: (t: Token, line: number) => void): void {
  for (const token of tokens) {
    const start = line + leadingNewlines(token.raw);
    visit(token, start);
    walkChildren(token, start, visit);
    line += countNewlines(token.raw);
  }
}

function walkChildren(token: Token, line: number, visit: (t: Token, line: number) => void): void {
  if (token.type === 'html') {
    const relexed = relexDetails(token.raw);
    if (relexed) walkSequence(relexed, line, visit);
    return;
  }
  const children = blockChildren(token);
  if (children.length === 0) return;
  // Children's raw text is the parent's, minus list markers, indentation and `>`; find each
  // child's first line in the parent, in order, to get its line.
  const raw = token.raw;
  let cursor = 0;
  for (const child of children) {
    const first = child.raw.replace(/^\n+/, '').split('\n', 1)[0]!.trim();
    if (first === '') continue;
    const at = raw.indexOf(first, cursor);
    if (at < 0) continue;
    const childLine = line + countNewlines(raw.slice(0, at));
    visit(child, childLine);
    walkChildren(child, childLine, visit);
    const span = countNewlines(child.raw.replace(/^\n+/, '').replace(/\n+$/, ''));
    cursor = afterLines(raw, at, span);
  }
}

function blockChildren(token: Token): Token[] {
  if (token.type === 'list') return (token as Tokens.List).items as Token[];
  if (token.type === 'list_item' || token.type === 'blockquote') return (token as { tokens?: Token[] }).tokens ?? [];
  return [];
}

/**
 * In `<details>` a fence right after `<summary>` (no blank line) stays inside the HTML
 * block. Lex such a block again with its tag-only lines blanked, keeping line numbers.
 */
function relexDetails(raw: string): Token[] | null {
  if (!hasDetailsFence(raw)) return null;
  const tagLine = /^\s*(<\/?details\b[^>]*>|<summary\b.*<\/summary>|<\/?summary\b[^>]*>)\s*$/i;
  const text = raw
    .split('\n')
    .map((l) => (tagLine.test(l) ? '' : l))
    .join('\n');
  return new Lexer().blockTokens(text, []);
}

function hasDetailsFence(raw: string): boolean {
  return /^\s*<details[\s>]/i.test(raw) && /^\s*(```|~~~)/m.test(raw);
}

/** Index just past the end of the line `n` lines below the line holding `at`. */
function afterLines(text: string, at: number, n: number): number {
  let i = at;
  for (let k = 0; k <= n; k++) {
    const nl = text.indexOf('\n', i);
    if (nl < 0) return text.length;
    i = nl + 1;
  }
  return i;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function leadingNewlines(s: string): number {
  return s.length - s.replace(/^\n+/, '').length;
}

/** A heading's text as a reader sees it: code spans, links and emphasis flattened. */
function plainText(tokens: Token[] | undefined): string {
  let out = '';
  for (const t of tokens ?? []) {
    if (t.type === 'html') continue;
    if (t.type === 'br') out += ' ';
    else if ('tokens' in t && Array.isArray(t.tokens) && t.tokens.length > 0) out += plainText(t.tokens);
    else if ('text' in t && typeof t.text === 'string') out += t.text;
  }
  return out;
}
