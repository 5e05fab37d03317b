// The invocations of one tool (kubectl, kind, linkerd) in the kind plan, as the argument lists
// bash would pass it: found wherever a simple command starts (after `if`, `then`, `!`, a pipe,
// `;`, `&&`, `||`, or inside `$(...)`), quotes removed, redirections dropped, and `$VAR` replaced
// from a given table (an unknown variable is an error, so nothing is guessed). Enough for the
// plain shell the tutorial writes; not a shell.

import { dryRun } from './kind-plan.ts';

export interface Invocation {
  /** Section title and the block's line in the plan, for messages. */
  where: string;
  /** Arguments after the tool's name. */
  args: string[];
  /** The command as the plan writes it. */
  text: string;
}

interface PlanSection {
  title: string;
  blocks: Array<{ kind: string; text: string }>;
}

const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'while', 'until', 'do', '!']);

/** Every simple command in a shell text, as word lists (nested `$(...)` ones included). */
export function simpleCommands(text: string, vars: Record<string, string>): Array<{ words: string[]; text: string }> {
  const src = text.replace(/\\\n/g, ' ');
  const out: Array<{ words: string[]; text: string }> = [];
  let words: string[] = [];
  let word: string | null = null;
  let start = 0;
  let dropNext = false;
  const flush = () => {
    if (word !== null) {
      if (dropNext) dropNext = false;
      else words.push(word);
    }
    word = null;
  };
  const end = (i: number) => {
    flush();
    if (words.length) out.push({ words, text: src.slice(start, i).trim() });
    words = [];
    start = i + 1;
  };
  const expand = (i: number): [string, number] => {
    // At a `$`: a variable or a command substitution; returns its text and the index after it.
    if (src[i + 1] === '(') {
      let depth = 1;
      let j = i + 2;
      for (; j < src.length && depth > 0; j++) {
        if (src[j] === '(') depth++;
        else if (src[j] === ')') depth--;
      }
      out.push(...simpleCommands(src.slice(i + 2, j - 1), vars));
      return ['$(...)', j];
    }
    const m = /^\$(?:\{(\w+)\}|(\w+))/.exec(src.slice(i));
    if (!m) return ['$', i + 1];
    const name = (m[1] ?? m[2])!;
    if (!(name in vars)) throw new Error(`the plan uses $${name}, which the test does not know: add it to the table`);
    return [vars[name]!, i + m[0].length];
  };
  for (let i = 0; i < src.length; ) {
    const c = src[i]!;
    if (c === "'") {
      const j = src.indexOf("'", i + 1);
      word = (word ?? '') + src.slice(i + 1, j);
      i = j + 1;
    } else if (c === '"') {
      word ??= '';
      let j = i + 1;
      while (src[j] !== '"') {
        if (src[j] === '\\' && /["\\$`]/.test(src[j + 1]!)) {
          word += src[j + 1];
          j += 2;
        } else if (src[j] === '$') {
          const [v, next] = expand(j);
          word += v;
          j = next;
        } else word += src[j++];
      }
      i = j + 1;
    } else if (c === '$') {
      const [v, next] = expand(i);
      word = (word ?? '') + v;
      i = next;
    } else if (c === '#' && word === null) {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '>' || c === '<') {
      // A redirection: a file-descriptor number before it and its target are not arguments.
      if (word !== null && /^\d+$/.test(word)) word = null;
      flush();
      i++;
      while (src[i] === '>' || src[i] === '&') i++;
      dropNext = true;
    } else if (c === ' ' || c === '\t') {
      flush();
      i++;
    } else if (c === '\n' || c === ';' || c === '|' || c === '&' || c === '(' || c === ')') {
      end(i);
      i++;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  end(src.length);
  return out;
}

/** The plan's invocations of `tool`, with `$VAR`s taken from `vars`. */
export function planInvocations(tool: string, vars: Record<string, string>, planJson = dryRun('kind')): Invocation[] {
  const sections = JSON.parse(planJson) as PlanSection[];
  const found: Invocation[] = [];
  for (const s of sections) {
    for (const b of s.blocks) {
      if (b.kind !== 'run' && b.kind !== 'background') continue;
      for (const cmd of simpleCommands(b.text, vars)) {
        let w = cmd.words;
        while (w.length && (KEYWORDS.has(w[0]!) || /^\w+=/.test(w[0]!))) w = w.slice(1);
        // scripts/await-summaries.sh COUNT COMMAND...: the command is the tool's invocation.
        if (/(^|\/)await-summaries\.sh$/.test(w[0] ?? '')) w = w.slice(2);
        if (w[0] === tool) found.push({ where: `section "${s.title}"`, args: w.slice(1), text: cmd.text });
      }
    }
  }
  return found;
}
