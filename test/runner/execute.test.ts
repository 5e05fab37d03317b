// Execute as a library: the events it emits (what the UI and the observer subscribe to) and
// the afterSection hook that later traffic checks use to fail a run.

import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Split } from '../../lib/split.ts';
import { parseDocument, type Section } from '../../runner/document.ts';
import { CheckFailed } from '../../runner/errors.ts';
import { createBus, type RunEvent } from '../../runner/events.ts';
import { execute, type AfterSection } from '../../runner/execute.ts';
import { makePlan } from '../../runner/plan.ts';
import { fence, tempDir, type TempDir } from './helpers.ts';

const SPLIT = `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata:
  name: web-split
spec:
  service: web
  backends:
    - service: web-v1
      weight: 100
`;

const DOC = [
  '# Shift',
  fence('yaml {file=split.yaml}', 'spec:\n  backends:\n    - service: web-v1\n      weight: 80\n    - service: web-v2\n      weight: 20'),
  fence('sh', 'echo "shifted $(grep -c weight split.yaml)"'),
  fence('text', 'just shown'),
  '# Next',
  fence('sh', 'echo next-ran'),
  '# Cleanup',
  fence('sh {always=true}', 'echo cleanup-ran'),
].join('\n');

describe('execute', () => {
  let t: TempDir;
  beforeEach(() => {
    t = tempDir();
    t.write('split.yaml', SPLIT);
    t.write('doc.md', DOC);
  });
  afterEach(() => t.cleanup());

  async function run(afterSection: AfterSection[], verify = true, interrupt = new AbortController().signal, listener?: (e: RunEvent) => void) {
    const doc = parseDocument(t.read('doc.md'), 'doc.md', t.dir);
    const events: RunEvent[] = [];
    const bus = createBus();
    bus.on((e) => events.push(e));
    if (listener) bus.on(listener);
    const result = await execute({
      plan: makePlan(doc, { target: 'local' }),
      bus,
      timeoutMs: 30_000,
      keepChanges: false,
      verify,
      afterSection,
      interrupt,
    });
    const output = events
      .filter((e): e is Extract<RunEvent, { type: 'block-output' }> => e.type === 'block-output')
      .map((e) => e.chunk.toString())
      .join('');
    return { result, events, output };
  }

  it('emits typed events in order, with the split a stage edit applied', async () => {
    // What a check after a section can know of its splits: the stage-applied events since
    // the section started, as the observer reads them.
    const calls: Array<[string, Split[]]> = [];
    let applied: Split[] = [];
    const { result, events, output } = await run(
      [
        async (section) => {
          calls.push([section.id, applied]);
        },
      ],
      true,
      undefined,
      (e) => {
        if (e.type === 'section-start') applied = [];
        if (e.type === 'stage-applied' && e.split) applied.push(e.split);
      },
    );
    assert.equal(result.exitCode, 0);
    assert.equal(result.status, 'done');
    const kinds = events.filter((e) => e.type !== 'block-output').map((e) => e.type);
    assert.deepEqual(kinds, [
      'run-start',
      'section-start',
      'stage-applied',
      'block-start',
      'block-end',
      'block-shown',
      'section-end',
      'section-start',
      'block-start',
      'block-end',
      'section-end',
      'section-start',
      'block-start',
      'block-end',
      'section-end',
      'files-restored',
      'run-end',
    ]);
    const stage = events.find((e) => e.type === 'stage-applied') as Extract<RunEvent, { type: 'stage-applied' }>;
    assert.equal(stage.file, 'split.yaml');
    assert.equal(stage.line, 2);
    assert.deepEqual(stage.split?.backends, [
      { service: 'web-v1', weight: 80 },
      { service: 'web-v2', weight: 20 },
    ]);
    assert.match(stage.diff, /\+      weight: 20/);
    const end = events.find((e) => e.type === 'block-end') as Extract<RunEvent, { type: 'block-end' }>;
    const blockOutput = Buffer.concat(
      events.filter((e): e is Extract<RunEvent, { type: 'block-output' }> => e.type === 'block-output' && e.block === end.block).map((e) => e.chunk),
    ).toString('utf8');
    assert.equal(blockOutput, 'shifted 2\n');
    assert.equal(end.result.code, 0);
    assert.match(output, /shifted 2\nnext-ran\ncleanup-ran\n/);
    assert.deepEqual(
      calls.map(([id, splits]) => [id, splits.map((s) => s.name)]),
      [
        ['shift', ['web-split']],
        ['next', []],
        ['cleanup', []],
      ],
    );
    assert.equal(t.read('split.yaml'), SPLIT);
  });

  it('a check that throws fails the run with its message and exitCode; always blocks still run', async () => {
    const failing: AfterSection = async (section: Section) => {
      if (section.id === 'shift') throw new CheckFailed('v2 got 0% of calls, expected 20% ± 10');
    };
    const { result, events, output } = await run([failing]);
    assert.equal(result.status, 'failed');
    assert.equal(result.exitCode, 1);
    assert.equal(result.failure?.message, 'v2 got 0% of calls, expected 20% ± 10');
    assert.equal(result.failure?.section.id, 'shift');
    assert.equal(result.failure?.block, null);
    assert.doesNotMatch(output, /next-ran/);
    assert.match(output, /cleanup-ran/);
    const end = events.at(-1) as Extract<RunEvent, { type: 'run-end' }>;
    assert.equal(end.type, 'run-end');
    assert.equal(end.exitCode, 1);
    assert.equal(t.read('split.yaml'), SPLIT);
  });

  it('a check with a bug (not a CheckFailed) is no check failure: it propagates after cleanup', async () => {
    const buggy: AfterSection = async () => {
      (undefined as unknown as { backends: [] }).backends;
    };
    const events: RunEvent[] = [];
    const bus = createBus();
    bus.on((e) => events.push(e));
    const doc = parseDocument(t.read('doc.md'), 'doc.md', t.dir);
    await assert.rejects(
      execute({ plan: makePlan(doc, { target: 'local' }), bus, timeoutMs: 30_000, keepChanges: false, verify: true, afterSection: [buggy], interrupt: new AbortController().signal }),
      TypeError,
    );
    const output = events.map((e) => (e.type === 'block-output' ? e.chunk.toString() : '')).join('');
    assert.match(output, /cleanup-ran/);
    assert.equal(t.read('split.yaml'), SPLIT);
  });

  it('verify=false (--no-verify) does not call the checks', async () => {
    let called = 0;
    const { result } = await run(
      [
        async () => {
          called++;
          throw new Error('should not run');
        },
      ],
      false,
    );
    assert.equal(result.exitCode, 0);
    assert.equal(called, 0);
  });

  it('an interrupt does not wait for a check that hangs; always blocks run, exit 130', async () => {
    const ac = new AbortController();
    let seenSignal: AbortSignal | undefined;
    const hanging: AfterSection = (_section, signal) => {
      seenSignal = signal;
      setTimeout(() => ac.abort(), 100);
      return new Promise(() => {});
    };
    const { result, output } = await run([hanging], true, ac.signal);
    assert.equal(result.status, 'interrupted');
    assert.equal(result.exitCode, 130);
    assert.equal(seenSignal?.aborted, true);
    assert.doesNotMatch(output, /next-ran/);
    assert.match(output, /cleanup-ran/);
    assert.equal(t.read('split.yaml'), SPLIT);
  });

  it('runs blocks in the document folder whatever the process cwd', async () => {
    t.write('doc.md', `# A\n${fence('sh', 'basename "$PWD"')}`);
    const { output } = await run([]);
    assert.equal(output.trim(), path.basename(t.dir));
  });
});
