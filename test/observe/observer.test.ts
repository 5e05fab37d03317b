// The observer in-process, as main wires it: a subscriber of the run's bus with a recorded
// traffic source. It takes the split from the stage-applied event, checks the traffic that
// follows, and everything it has to say (traffic, checking, verdicts, notes) comes back as
// run events; a bug in the shares check is a bug, not "not checked".
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocument, type Section } from '../../runner/document.ts';
import { CheckFailed } from '../../runner/errors.ts';
import { createBus, type RunEvent } from '../../runner/events.ts';
import { createObserver } from '../../runner/observe/observer.ts';
import type { TrafficSource } from '../../runner/observe/traffic-source.ts';
import { formatSummary, parseSummaryLine, type Summary } from '../../lib/summary.ts';
import type { Split } from '../../lib/split.ts';
import { tempDir, versionManifests } from '../runner/helpers.ts';

/** Recorded summary lines, delivered when the test says, as a follower would read them. */
function recordedSource() {
  let on: ((s: Summary) => void) | undefined;
  const source: TrafficSource & { play(lines: string[]): void } = {
    start: (cb) => void (on = cb),
    stop: async () => void (on = undefined),
    play: (lines) => {
      for (const l of lines) {
        const s = parseSummaryLine(l);
        if (s) on?.(s);
      }
    },
  };
  return source;
}

/** Text summary lines, one window a second from `from`, v1/v2 calls each. */
const lines = (from: number, n: number, v1: number, v2: number) =>
  Array.from({ length: n }, (_, i) =>
    formatSummary(
      { ts: new Date(from + (i + 1) * 1000).toISOString(), intervalMs: 1000, total: v1 + v2, ok: v1 + v2, errors: {}, byVersion: { v1, v2 }, byPod: { 'web-v1-a': v1, 'web-v2-a': v2 }, latencyMs: { p50: 1, p99: 2 } },
      'text',
    ),
  );

const split = (v1: number, v2: number): Split => ({
  apex: 'web',
  kind: 'TrafficSplit',
  name: 'web-split',
  backends: [
    { service: 'web-v1', weight: v1 },
    { service: 'web-v2', weight: v2 },
  ],
} as Split);

/** A fixture project, a bus and an observer on it; closed and removed when the test `ctx` ends. */
function setup(ctx: TestContext) {
  const t = tempDir();
  t.write('deploy/web-v1.yaml', versionManifests('web', 'v1'));
  t.write('deploy/web-v2.yaml', versionManifests('web', 'v2'));
  const doc = parseDocument(['# Shift\n', '```yaml {file=split.yaml}\nspec: {}\n```\n', '```sh\ntrue\n```\n'].join('\n'), 'doc.md', t.dir);
  const section = doc.sections[0] as Section;
  const bus = createBus();
  const events: RunEvent[] = [];
  bus.on((e) => events.push(e));
  const source = recordedSource();
  const observer = createObserver({ bus, source, manifests: path.join(t.dir, 'deploy'), manifestsLabel: 'deploy/', document: 'doc.md', target: 'local', verifyTimeoutMs: 5000 });
  // No report file is set, so the exit code given to close writes nothing anywhere.
  ctx.after(async () => {
    await observer.close(0);
    t.cleanup();
  });
  const applied = (s: Split) => {
    bus.emit({ type: 'section-start', section });
    bus.emit({ type: 'stage-applied', block: section.blocks[0]!, file: 'split.yaml', line: 3, diff: '', split: s });
    bus.emit({ type: 'block-start', section, block: section.blocks[1]!, always: false });
  };
  const mine = () => events.filter((e) => e.type === 'traffic' || e.type.startsWith('check-'));
  return { t, bus, section, source, observer, applied, events, mine };
}

test('the split comes from the stage-applied event; traffic, checking and the verdict go out as run events', async (ctx) => {
  const { section, source, observer, applied, mine } = setup(ctx);
  applied(split(80, 20));
  const checking = observer.afterSection(section);
  source.play(lines(Date.now() + 100, 4, 80, 20));
  await checking;
  const out = mine();
  assert.equal(out.filter((e) => e.type === 'traffic').length, 4);
  const last = out.filter((e) => e.type === 'traffic').at(-1) as Extract<RunEvent, { type: 'traffic' }>;
  assert.equal(last.samples.length, 4, 'each traffic event carries everything seen so far');
  const started = out.find((e) => e.type === 'check-started') as Extract<RunEvent, { type: 'check-started' }>;
  assert.equal(started.what, 'checking stage 80/20 (doc.md:3)');
  const decided = out.find((e) => e.type === 'check-decided') as Extract<RunEvent, { type: 'check-decided' }>;
  assert.equal(decided.ok, true, decided.line);
  assert.match(decided.line, /^stage 80\/20/);
  assert.deepEqual(observer.checks.map((c) => [c.name, c.ok, c.where]), [['stage 80/20', true, 'doc.md:3']]);
});

test('traffic against the split: a check-decided event that failed, and a CheckFailed', async (ctx) => {
  const { section, source, observer, applied, mine } = setup(ctx);
  applied(split(100, 0));
  const checking = observer.afterSection(section);
  source.play(lines(Date.now() + 100, 1, 50, 50));
  await assert.rejects(checking, CheckFailed);
  const decided = mine().find((e) => e.type === 'check-decided') as Extract<RunEvent, { type: 'check-decided' }>;
  assert.equal(decided.ok, false);
});

test('a section without a stage edit checks nothing; a backend no Service maps is a check-skipped note', async (ctx) => {
  const { bus, section, observer, applied, mine } = setup(ctx);
  bus.emit({ type: 'section-start', section });
  await observer.afterSection(section);
  assert.deepEqual(mine(), []);
  applied({ ...split(50, 50), backends: [{ service: 'nowhere', weight: 1 }] });
  await observer.afterSection(section);
  assert.deepEqual(mine(), [{ type: 'check-skipped', line: 'stage 100 in section Shift not checked: backend nowhere reaches no server version in deploy/' }]);
});

test('a bug in the shares check (here a split with no backends list) is thrown, not "not checked"', async (ctx) => {
  const { section, observer, applied, mine } = setup(ctx);
  applied({ ...split(50, 50), backends: undefined as never });
  await assert.rejects(observer.afterSection(section), TypeError);
  assert.equal(mine().filter((e) => e.type === 'check-skipped').length, 0);
});
