// The terminal side: colour only on a TTY and never with NO_COLOR; background output drawn
// above a waiting prompt instead of through it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDocument } from '../../runner/document.ts';
import { createUi, wantsColor, type Output } from '../../runner/ui.ts';
import { fence } from './helpers.ts';
import { render, shown } from './screen.ts';

function capture(isTTY: boolean): Output & { text: string } {
  const out = {
    isTTY,
    text: '',
    write(s: string | Buffer) {
      out.text += s.toString();
      return true;
    },
  };
  return out;
}

describe('ui', () => {
  it('colours only a TTY, and never when NO_COLOR is set', () => {
    assert.equal(wantsColor({ isTTY: true }, {}), true);
    assert.equal(wantsColor({ isTTY: false }, {}), false);
    assert.equal(wantsColor({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(wantsColor({ isTTY: true }, { NO_COLOR: '' }), true);
    assert.equal(wantsColor({ isTTY: true }, { TERM: 'dumb' }), false);
    assert.equal(wantsColor({ isTTY: false }, { FORCE_COLOR: '1' }), true);

    const doc = parseDocument(`# Title\n${fence('sh', 'echo hi')}`, 'd.md');
    const section = doc.sections[0]!;
    for (const [env, coloured] of [
      [{}, true],
      [{ NO_COLOR: '1' }, false],
    ] as const) {
      const out = capture(true);
      const ui = createUi(out, capture(true), env);
      ui.onEvent({ type: 'run-start', file: 'd.md', target: 'local', defaultTarget: 'local', sections: 1 });
      ui.onEvent({ type: 'section-start', section });
      assert.equal(out.text.includes('\x1b['), coloured, JSON.stringify(env));
      assert.match(out.text, /1\. Title/);
    }
  });

  it('draws background lines above a waiting prompt and redraws the prompt', () => {
    const out = capture(true);
    const ui = createUi(out, capture(true), { NO_COLOR: '1' });
    ui.prompt();
    const before = out.text;
    assert.match(before, /Enter run · s skip · q quit $/);
    ui.onEvent({ type: 'background-output', name: 'traffic', stream: 'stdout', line: 'summary v1=95 v2=5' });
    // What the terminal shows: the line above the prompt, the cursor after the prompt again.
    const screen = render(out.text);
    assert.deepEqual(shown(out.text), ['[traffic] summary v1=95 v2=5', 'Enter run · s skip · q quit']);
    assert.deepEqual([screen.row, screen.col], [1, 'Enter run · s skip · q quit '.length]);
    ui.promptDone('run');
    ui.onEvent({ type: 'background-output', name: 'traffic', stream: 'stdout', line: 'next' });
    assert.deepEqual(shown(out.text), ['[traffic] summary v1=95 v2=5', 'Enter run · s skip · q quit run', '[traffic] next']);
  });

  it('without a TTY, background lines are plain prefixed lines', () => {
    const out = capture(false);
    const ui = createUi(out, capture(false), {});
    ui.onEvent({ type: 'background-output', name: 'bg', stream: 'stderr', line: 'warming up' });
    assert.equal(out.text, '[bg] warming up\n');
  });
});
