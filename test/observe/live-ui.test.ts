// The live view in the UI: drawn in place on a TTY (and above the pause prompt, never through
// it), a plain line at most every ten seconds elsewhere, no colour under NO_COLOR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Summary } from '../../lib/summary.ts';
import { createUi } from '../../runner/ui.ts';
import { render, shown } from '../runner/screen.ts';

const PROMPT_TEXT = 'Enter run · s skip · q quit ';

function term(isTTY: boolean) {
  let text = '';
  return { isTTY, write: (s: string | Buffer) => ((text += s.toString()), true), text: () => text };
}

const sample = (v1: number, v2: number): Summary => ({
  ts: new Date().toISOString(),
  intervalMs: 2000,
  total: v1 + v2,
  ok: v1 + v2,
  errors: {},
  byVersion: { v1, v2 },
  byPod: {},
  latencyMs: { p50: 1, p99: 2.5 },
});

test('on a TTY the view is redrawn in place and the prompt stays last', () => {
  const out = term(true);
  const ui = createUi(out, term(true), { TERM: 'xterm' });
  ui.onEvent({ type: 'traffic', samples: [sample(38, 2)] });
  assert.match(out.text(), /v1 .* 95\.0%\s+38 calls/);
  ui.prompt();
  ui.onEvent({ type: 'traffic', samples: [sample(38, 2), sample(20, 20)] });
  // What the terminal shows, whatever codes drew it: one view, the new one, then the prompt.
  const screen = render(out.text());
  const lines = shown(out.text());
  assert.equal(lines.at(-1), PROMPT_TEXT.trimEnd(), 'the prompt is drawn again last');
  assert.deepEqual([screen.row, screen.col], [lines.length - 1, PROMPT_TEXT.length], 'the cursor waits after the prompt');
  assert.equal(lines.filter((l) => /traffic, last 10 s/.test(l)).length, 1, 'the old view is erased');
  assert.ok(lines.some((l) => /v1 .* 72\.5%/.test(l)), lines.join('\n'));
  assert.ok(!lines.some((l) => /95\.0%/.test(l)), lines.join('\n'));
  ui.promptDone('run');
  ui.onEvent({ type: 'section-skipped', section: { number: 2, id: 'x', title: 'Next', depth: 2, line: 1, intro: '', blocks: [], directives: [] }, reason: 'user', alwaysBlocks: 0 });
  const after = shown(out.text());
  const skipped = after.findIndex((l) => /skipped section 2\. Next/.test(l));
  assert.ok(skipped >= 0 && skipped < after.findIndex((l) => /traffic, last 10 s/.test(l)), `output goes above the view:\n${after.join('\n')}`);
  assert.equal(after.filter((l) => /traffic, last 10 s/.test(l)).length, 1);
  assert.equal(after[skipped - 1], `${PROMPT_TEXT}run`, 'the answered prompt stays above');
});

test('without a TTY: a plain line, throttled, no escape codes', () => {
  const out = term(false);
  const ui = createUi(out, term(false), { NO_COLOR: '1' });
  ui.onEvent({ type: 'traffic', samples: [sample(38, 2)] });
  ui.onEvent({ type: 'traffic', samples: [sample(38, 2), sample(40, 0)] });
  assert.equal(out.text(), 'traffic v1 95.0% (38) v2 5.0% (2) errors 0 p99 2.5 ms\n');
  assert.doesNotMatch(out.text(), /\x1b/);
});

test('CI on a TTY prints plain lines too', () => {
  const out = term(true);
  createUi(out, term(true), { CI: 'true', NO_COLOR: '1' }).onEvent({ type: 'traffic', samples: [sample(1, 1)] });
  assert.equal(out.text(), 'traffic v1 50.0% (1) v2 50.0% (1) errors 0 p99 2.5 ms\n');
});
