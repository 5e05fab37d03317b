// On GitHub a fence's attributes are invisible, so what tells a reader which target a block is
// for, and which file a stage block edits, is the text around it: a "**kind…**" lead-in before
// every kind block, every local block folded in a <details>, and a caption naming the file
// before every stage block. These checks keep it so as blocks are added.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blocks, readTutorial, type Block } from './doc.ts';

const RUN_LANGS = new Set(['sh', 'bash', 'shell']);

/** The paragraph just above a fence (lines up to the previous blank line), as one string. */
function paragraphAbove(lines: string[], fenceLine: number): string {
  let i = fenceLine - 2; // 0-based index of the line above the fence
  while (i >= 0 && lines[i]!.trim() === '') i--;
  const end = i;
  while (i >= 0 && lines[i]!.trim() !== '') i--;
  return lines.slice(i + 1, end + 1).join(' ');
}

/** How many <details> are open at a line. */
function detailsDepth(lines: string[], fenceLine: number): number {
  let depth = 0;
  for (const l of lines.slice(0, fenceLine - 1)) {
    if (/^\s*<details[\s>]/i.test(l)) depth++;
    if (/<\/details>\s*$/i.test(l)) depth--;
  }
  return depth;
}

/** Problems with the visible labels of a Markdown text's blocks. */
function labelProblems(markdown: string, file = 'tutorial.md'): string[] {
  const lines = markdown.split('\n');
  const problems: string[] = [];
  const at = (b: Block) => `${file}:${b.line}`;
  for (const b of blocks(markdown)) {
    const above = paragraphAbove(lines, b.line);
    const folded = detailsDepth(lines, b.line) > 0;
    if (RUN_LANGS.has(b.lang) && b.target === 'kind') {
      if (!/^\*\*kind[^*]*\*\*/.test(above)) problems.push(`${at(b)}: a kind block without a "**kind:**" lead-in just above it`);
      if (folded) problems.push(`${at(b)}: a kind block inside <details> (only local blocks are folded)`);
    }
    if (RUN_LANGS.has(b.lang) && b.target === 'local' && !folded) {
      problems.push(`${at(b)}: a local block outside <details><summary>Local track …</summary>`);
    }
    if (b.file && !above.includes(b.file)) problems.push(`${at(b)}: a stage block whose caption does not name ${b.file}`);
  }
  return problems;
}

test('every runnable block of tutorial.md says its target where GitHub shows it, every stage block its file', () => {
  const md = readTutorial();
  assert.ok(blocks(md).filter((b) => b.target).length >= 30, 'expected the tutorial\'s blocks');
  assert.deepEqual(labelProblems(md), []);
});

test('the label check fails on an unlabelled kind block, an unfolded local block and an uncaptioned stage', () => {
  const fence = '```';
  const bad = [
    '# T',
    '',
    'Some text.',
    '',
    `${fence}sh {target=kind}`,
    'kubectl get pods',
    fence,
    '',
    `${fence}sh {target=local}`,
    'node x.mjs',
    fence,
    '',
    'Edit the file to read:',
    '',
    `${fence}yaml {file=deploy/x.yaml}`,
    'a: 1',
    fence,
    '',
    '**kind:** fine.',
    '',
    `${fence}sh {target=kind}`,
    'kubectl get pods',
    fence,
    '',
    '<details><summary>Local track</summary>',
    '',
    `${fence}sh {target=local}`,
    'node x.mjs',
    fence,
    '',
    '</details>',
    '',
  ].join('\n');
  assert.deepEqual(labelProblems(bad, 'bad.md'), [
    'bad.md:5: a kind block without a "**kind:**" lead-in just above it',
    'bad.md:9: a local block outside <details><summary>Local track …</summary>',
    'bad.md:15: a stage block whose caption does not name deploy/x.yaml',
  ]);
});
