// Every ```mermaid fence in tutorial.md and docs/*.md draws: mermaid's own browser bundle
// (from node_modules) renders each in Debian's headless Chromium, and a parse or render
// error, or output that is not an SVG, fails with the fence's FILE:LINE. The runner must not
// see the fences as anything but text to show.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from '../../runner/document.ts';
import { ROOT } from './doc.ts';
import { CHROMIUM, diagramsIn, documentFiles, renderDiagrams } from './mermaid.ts';

const NO_CHROMIUM = CHROMIUM ? false : 'chromium is not installed (.ci/run installs it)';
const files = documentFiles();
const diagrams = diagramsIn(files);

test('the diagrams are found, and the runner only shows them', () => {
  const inTutorial = diagrams.filter((d) => d.where.startsWith('tutorial.md:'));
  assert.ok(inTutorial.length >= 6, `tutorial.md has ${inTutorial.length} diagrams`);
  for (const file of files) {
    const doc = parseDocument(readFileSync(join(ROOT, file), 'utf8'), file);
    for (const b of doc.sections.flatMap((s) => s.blocks).filter((b) => b.lang === 'mermaid')) {
      assert.equal(b.kind, 'show', `${file}:${b.line}: the runner would ${b.kind} a mermaid block`);
    }
  }
});

test('every mermaid diagram of tutorial.md and docs/*.md renders to an SVG', { skip: NO_CHROMIUM, timeout: 180_000 }, () => {
  const results = renderDiagrams(CHROMIUM!, diagrams);
  const failed = results.filter((r) => r.error !== undefined).map((r) => `${r.where}: ${r.error}`);
  assert.deepEqual(failed, []);
  for (const r of results) assert.ok(r.svgBytes > 1000, `${r.where}: an SVG of only ${r.svgBytes} bytes`);
});

test('a broken diagram fails with its place and mermaid\'s message; a good one beside it still draws', { skip: NO_CHROMIUM, timeout: 180_000 }, () => {
  const results = renderDiagrams(CHROMIUM!, [
    { where: 'bad.md:3', text: 'flowchart LR\n  a["unclosed --> b\n' },
    { where: 'good.md:1', text: 'flowchart LR\n  a --> b\n' },
    { where: 'unknown.md:7', text: 'flowchat LR\n  a --> b\n' },
    { where: 'seq.md:2', text: 'sequenceDiagram\n  A->>B: hi\n  Note over Nobody, A: x\n  end\n' },
  ]);
  assert.equal(results.length, 4);
  const [bad, good, unknown, seq] = results;
  assert.equal(bad!.where, 'bad.md:3');
  assert.match(bad!.error ?? '', /Parse error on line \d/);
  assert.equal(good!.error, undefined);
  assert.ok(good!.svgBytes > 1000);
  assert.match(unknown!.error ?? '', /No diagram type detected/);
  assert.ok(seq!.error, 'a stray "end" in a sequence diagram is an error');
});
