// Section dependencies (`<!-- runner:needs ... -->`): how they are checked before anything
// runs, how --only resolves them, and how a run with --only treats what it brings up: no
// prompt and no check for those sections, one line saying what is brought up and why, and
// at the end how to stop what stays up.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDocument } from '../../runner/document.ts';
import { neededFor, readNeeds } from '../../runner/needs.ts';
import { makePlan } from '../../runner/plan.ts';
import { FIXTURE_SPLIT as SPLIT, fence, killAll, readPids, runRunner, startRunner, tempDir, waitForFile, waitGone, type TempDir, projectFrontMatter } from './helpers.ts';

const split = (w1: number, w2: number) =>
  fence('yaml {file=deploy/split.yaml}', `...\nspec:\n  backends:\n    - service: v1\n      weight: ${w1}\n    - service: v2\n      weight: ${w2}`);

// The project's two targets, following traffic as tutorial.md does, its manifests in
// deploy/: 11 lines of front matter first.
const DOC = [
  projectFrontMatter('deploy') + '# Setup',
  fence('sh', 'echo "ran setup"'),
  '## Tools',
  fence('sh {target=kind}', 'echo "ran tools"'),
  '# Start',
  '<!-- runner:needs setup -->',
  split(90, 10),
  fence('sh', 'echo "ran start"'),
  '# Unrelated',
  fence('sh', 'echo "ran unrelated"'),
  '# Look',
  '',
  '<!-- runner:needs start -->',
  '',
  split(50, 50),
  fence('sh', 'echo "ran look"'),
  '# Teardown',
  fence('sh {always=true}', 'echo "ran teardown"'),
].join('\n');


const ran = (out: string) => [...out.matchAll(/^ran (\w+)$/gm)].map((m) => m[1]);

describe('runner:needs is checked before anything runs', () => {
  let t: TempDir;
  before(() => (t = tempDir()));
  after(() => t.cleanup());

  // Each document also has a block that would leave a file behind if anything ran.
  const cases: Array<[string, string[], RegExp]> = [
    ['unknown id', ['# A', fence('sh', 'touch ran'), '# B', '<!-- runner:needs a bb -->'], /^runner: bad\.md:7: runner:needs "bb": no section has this id \(did you mean "b"\?\) \(see --list\)$/],
    ['a need of a later section', ['# A', '<!-- runner:needs b -->', fence('sh', 'touch ran'), '# B'], /^runner: bad\.md:2: runner:needs b: that section comes later \(bad\.md:7\); a section can only need earlier ones$/],
    [
      'a cycle',
      ['# A', '<!-- runner:needs c -->', fence('sh', 'touch ran'), '# B', '<!-- runner:needs a -->', '# C', '<!-- runner:needs b -->'],
      /^runner: bad\.md:8: runner:needs forms a cycle: a needs c, c needs b, b needs a$/,
    ],
    ['a section needing itself', ['# A', fence('sh', 'touch ran'), '# B', '', '<!-- runner:needs b -->'], /^runner: bad\.md:8: runner:needs forms a cycle: b needs b$/],
    [
      'a subsection needing the section that contains it',
      ['# A', fence('sh', 'touch ran'), '## A1', '<!-- runner:needs a -->'],
      /^runner: bad\.md:7: runner:needs forms a cycle: a contains a1, a1 needs a$/,
    ],
    ['no ids', ['# A', fence('sh', 'touch ran'), '# B', '<!-- runner:needs -->'], /^runner: bad\.md:7: runner:needs names no section/],
    ['above the first heading', ['<!-- runner:needs a -->', '', '# A', fence('sh', 'touch ran')], /^runner: bad\.md:1: runner:needs above the first heading/],
  ];
  for (const [what, lines, message] of cases) {
    it(`refuses ${what} with FILE:LINE and exit 2, for a run, --list and --only alike`, async () => {
      t.write('bad.md', lines.join('\n'));
      for (const args of [['--yes'], ['--list'], ['--yes', '--only', 'a']]) {
        const r = await runRunner(['bad.md', ...args], { cwd: t.dir });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr.trim(), message);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.equal(r.stdout, '');
        assert.equal(existsSync(path.join(t.dir, 'ran')), false, 'nothing ran');
      }
    });
  }
});

describe('--only resolves needs', () => {
  it('transitively, in document order, each needed section with its subsections, without the chosen ones', () => {
    const doc = parseDocument(
      [
        '# A',
        '# B',
        '## B1',
        '<!-- runner:needs a -->',
        '# C',
        '# D',
        '<!-- runner:needs b c -->',
        '## D2',
        '<!-- runner:needs c -->',
        '## D1',
        '<!-- runner:needs d2 -->',
      ].join('\n'),
      'd.md',
    );
    const needs = readNeeds(doc);
    const ids = (xs: { id: string }[]) => xs.map((x) => x.id);
    const byId = (id: string) => doc.sections.find((s) => s.id === id)!;
    // Needing b brings b1, and b1 needs a: a comes first, in document order.
    assert.deepEqual(ids(neededFor(doc, needs, [byId('d')])), ['a', 'b', 'b1', 'c']);
    // d1 needs d2, which is chosen too (a subsection of d): it runs as chosen, not brought up.
    assert.deepEqual(ids(neededFor(doc, needs, [byId('d'), byId('d2'), byId('d1')])), ['a', 'b', 'b1', 'c']);
    assert.deepEqual(ids(neededFor(doc, needs, [byId('d1')])), ['c', 'd2']);
    assert.deepEqual(ids(neededFor(doc, needs, [byId('a')])), []);
  });

  it('leaves out needed sections with nothing to run on the target, and marks the rest as brought up', () => {
    const doc = parseDocument(DOC, 'doc.md');
    const plan = (target: 'local' | 'kind') =>
      makePlan(doc, { target, only: 'look' }).sections.map((p) => `${p.section.id}${p.broughtUp ? ' (up)' : ''}`);
    assert.deepEqual(plan('local'), ['setup (up)', 'start (up)', 'look']);
    assert.deepEqual(plan('kind'), ['setup (up)', 'tools (up)', 'start (up)', 'look']);
    assert.deepEqual(
      makePlan(doc, { target: 'local', from: 'look' }).sections.map((p) => p.section.id),
      ['look', 'teardown'],
      '--from brings nothing up',
    );
  });
});

describe('a run with --only', () => {
  let t: TempDir;
  before(() => {
    t = tempDir();
    t.write('doc.md', DOC);
    t.write('deploy/split.yaml', SPLIT);
  });
  after(() => t.cleanup());

  it('runs what the section needs first, without a pause or a check for it, then the section, and says how to stop', async () => {
    const r = await runRunner(['doc.md', '--pause', '0', '--only', 'look'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(ran(r.stdout), ['setup', 'start', 'look']);
    assert.match(r.stdout, /^↑ bringing up what look needs, without prompting: setup, start$/m);
    assert.match(r.stdout, /^# 1\. Setup {2}\(doc\.md:12, brought up\)$/m);
    assert.match(r.stdout, /^# 5\. Look {2}\(doc\.md:\d+\)$/m);
    // One pause, before the chosen section.
    assert.equal(r.stdout.match(/next section in 0s/g)?.length, 1);
    // The observer is asked about the chosen section's split only (this one it cannot map).
    assert.doesNotMatch(r.stderr, /section Start/);
    assert.match(r.stderr, /stage 50\/50 in section Look not checked/);
    assert.match(r.stdout, /↺ restored 1 edited file\(s\): deploy\/split\.yaml/);
    assert.equal(t.read('deploy/split.yaml'), SPLIT);
    assert.match(r.stdout, /^the demo stays up, to look at; stop it with: node runner\.mjs doc\.md --only teardown \(it runs: echo "ran teardown"\)$/m);
  });

  it('the teardown section alone runs its always block; it, and a section that needs nothing, print no hint', async () => {
    const r = await runRunner(['doc.md', '--yes', '--only', 'teardown'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ran(r.stdout), ['teardown']);
    assert.doesNotMatch(r.stdout, /bringing up|stays up/);
    const alone = await runRunner(['doc.md', '--yes', '--only', 'unrelated'], { cwd: t.dir });
    assert.equal(alone.code, 0, alone.stderr);
    assert.deepEqual(ran(alone.stdout), ['unrelated']);
    assert.doesNotMatch(alone.stdout, /bringing up|stays up/);
  });

  it('a failure while bringing up ends the run there, puts files back, and still says how to stop', async () => {
    t.write('fail.md', DOC.replace('echo "ran start"', 'echo "ran start"; false'));
    const r = await runRunner(['fail.md', '--yes', '--only', 'look'], { cwd: t.dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.deepEqual(ran(r.stdout), ['setup', 'start']);
    assert.match(r.stderr, /failed in section 3\. Start at fail\.md:\d+/);
    assert.equal(t.read('deploy/split.yaml'), SPLIT);
    assert.match(r.stdout, /stop it with: node runner\.mjs fail\.md --only teardown/);
  });

  it('Ctrl-C while bringing up stops the block and the background one, puts files back, exits 130, and says how to stop', async () => {
    const pids = path.join(t.dir, 'pids');
    const blocking = path.join(t.dir, 'in-block');
    t.write(
      'int.md',
      DOC.replace(
        'echo "ran start"',
        `echo "ran start"\nsleep 300 & echo $! >> ${pids}\ntouch ${blocking}\nwait`,
      ).replace(
        "# Start\n<!-- runner:needs setup -->\n",
        `# Start\n<!-- runner:needs setup -->\n${fence('sh {background=true name=watch ready="watching"}', `echo watching; sleep 300 & echo $! >> ${pids}; wait`)}`,
      ),
    );
    const r = startRunner(['int.md', '--yes', '--only', 'look'], { cwd: t.dir, timeoutMs: 40_000 });
    try {
      await waitForFile(blocking);
      assert.match(t.read('deploy/split.yaml'), /weight: 90/, 'the brought-up stage edit was applied');
      process.kill(r.pid, 'SIGINT');
      const out = await r.done;
      assert.equal(out.code, 130, out.stdout + out.stderr);
      const started = readPids(pids);
      assert.equal(started.length, 2, `pids: ${started}`);
      assert.deepEqual(await waitGone(started), [], 'the interrupted block and the background block are gone');
      assert.equal(t.read('deploy/split.yaml'), SPLIT);
      assert.doesNotMatch(out.stdout, /^ran look$/m);
      assert.match(out.stdout, /stop it with: node runner\.mjs int\.md --only teardown/);
    } finally {
      r.kill();
      killAll(readPids(pids));
    }
  });

  it('--list, --list --json and --dry-run show the needs and what --only brings up', async () => {
    const list = await runRunner(['doc.md', '--list'], { cwd: t.dir });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /Look\s+#look\n\s+\(needs start\)\n/);
    assert.doesNotMatch(list.stdout, /brought up/);

    const only = await runRunner(['doc.md', '--list', '--only', 'look'], { cwd: t.dir });
    assert.match(only.stdout, /^↑ bringing up what look needs, without prompting: setup, start$/m);
    assert.match(only.stdout, /Start\s+#start\n\s+\(brought up for look; needs setup\)\n/);
    assert.doesNotMatch(only.stdout, /Unrelated|Teardown/);

    const json = await runRunner(['doc.md', '--list', '--json', '--only', 'look', '--target', 'kind'], { cwd: t.dir });
    const sections = JSON.parse(json.stdout) as Array<{ id: string; needs: string[]; broughtUp?: boolean }>;
    assert.deepEqual(
      sections.map((s) => [s.id, s.needs, s.broughtUp ?? false]),
      [
        ['setup', [], true],
        ['tools', [], true],
        ['start', ['setup'], true],
        ['look', ['start'], false],
      ],
    );

    const dry = await runRunner(['doc.md', '--dry-run', '--only', 'look'], { cwd: t.dir });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^↑ bringing up what look needs/m);
    assert.match(dry.stdout, /# 3\. Start {2}#start \(doc\.md:\d+\)\n {2}\(brought up for look; needs setup\)\n/);
    // The needed section's stage edit comes first, the chosen one's diff is against it.
    assert.match(dry.stdout, /\+      weight: 90[\s\S]*-      weight: 90\n[\s\S]*\+      weight: 50/);
  });
});
