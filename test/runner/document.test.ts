// The document model, attributes and the plan, on Markdown strings (no processes).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDocument, type Document } from '../../runner/document.ts';
import { parseDuration } from '../../runner/attributes.ts';
import { makePlan } from '../../runner/plan.ts';
import { slug, createSlugger } from '../../runner/slug.ts';
import { fence, TARGETS_FRONT_MATTER } from './helpers.ts';

const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('sections', () => {
  it('are headings of any depth in order, numbered from 1, with GitHub ids', () => {
    const md = [
      '# Getting `started` *now*',
      '',
      'First paragraph of the intro',
      'continues here.',
      '',
      '## Step 1: install',
      '',
      '### Q&A / notes',
      '',
      'Setext heading',
      '--------------',
      '',
      '## Step 1: install',
      '',
      '## Step 1: install',
      '',
    ].join('\n');
    const doc = parseDocument(md, 'doc.md');
    assert.deepEqual(
      doc.sections.map((s) => [s.number, s.id, s.title, s.depth, s.line]),
      [
        [1, 'getting-started-now', 'Getting started now', 1, 1],
        [2, 'step-1-install', 'Step 1: install', 2, 6],
        [3, 'qa--notes', 'Q&A / notes', 3, 8],
        [4, 'setext-heading', 'Setext heading', 2, 10],
        [5, 'step-1-install-1', 'Step 1: install', 2, 13],
        [6, 'step-1-install-2', 'Step 1: install', 2, 15],
      ],
    );
    assert.equal(doc.sections[0]!.intro, 'First paragraph of the intro\ncontinues here.');
  });

  it('a heading with a reference link reads as its text, the definition found anywhere in the document', () => {
    const doc = parseDocument('# Run it with [zx][zx]\n\nText.\n\n[zx]: https://google.github.io/zx/\n', 'doc.md');
    assert.deepEqual(doc.sections.map((s) => [s.id, s.title]), [['run-it-with-zx', 'Run it with zx']]);
  });

  it('slugs like github-slugger, including a title that collides with a numbered one', () => {
    assert.equal(slug('Hello, World!'), 'hello-world');
    assert.equal(slug('Ünïcode  spaces'), 'ünïcode--spaces');
    const next = createSlugger();
    assert.deepEqual(['a', 'a', 'a-1', 'a'].map(next), ['a', 'a-1', 'a-1-1', 'a-2']);
  });

  it('a block belongs to the nearest heading above it; blocks above any heading get section 0', () => {
    const md = `${fence('sh', 'echo top')}\n# A\n\n${fence('sh', 'echo a')}\n## B\n\n${fence('bash', 'echo b1')}\n${fence('shell', 'echo b2')}`;
    const doc = parseDocument(md, 'doc.md');
    assert.deepEqual(
      doc.sections.map((s) => [s.number, s.blocks.map((b) => b.text)]),
      [
        [0, ['echo top']],
        [1, ['echo a']],
        [2, ['echo b1', 'echo b2']],
      ],
    );
  });
});

describe('blocks', () => {
  it('have exact lines, also after front matter, in lists, quotes and <details>', () => {
    const md = [
      '---',
      'targets:',
      '  local:',
      '---',
      '# Title',
      '',
      '```sh',
      'echo top-level',
      '```',
      '',
      '1. First step',
      '',
      '   ```bash {target=local}',
      '   echo in-list',
      '   ```',
      '2. Nested:',
      '   - inner',
      '',
      '     ```sh',
      '     echo nested-list',
      '     ```',
      '',
      '> ```sh',
      '> echo quoted',
      '> ```',
      '',
      '<details>',
      '<summary>Blank line after summary</summary>',
      '',
      '```sh',
      'echo details-blank',
      '```',
      '',
      '</details>',
      '',
      '<details>',
      '<summary>No blank line</summary>',
      '```sh',
      'echo details-tight',
      '```',
      '</details>',
      '',
      '```text',
      'not run',
      '```',
      '',
      '    indented code is not a fence',
      '',
      '~~~sh',
      'echo tilde',
      '~~~',
    ].join('\n');
    const doc = parseDocument(md, 'doc.md');
    const blocks = doc.sections.flatMap((s) => s.blocks);
    const texts = ['echo top-level', 'echo in-list', 'echo nested-list', 'echo quoted', 'echo details-blank', 'echo details-tight', 'not run', 'echo tilde'];
    assert.deepEqual(
      blocks.map((b) => b.text),
      texts,
    );
    for (const b of blocks) assert.equal(b.line, lineOf(md, b.text) - 1, `line of ${b.text}`);
    assert.deepEqual(
      blocks.map((b) => b.kind),
      ['run', 'run', 'run', 'run', 'run', 'run', 'show', 'run'],
    );
    assert.equal(doc.sections[0]!.line, 5);
  });

  it('parses attributes: target, background, name, ready, timeout, skip, always, allow-errors, file', () => {
    const md = [
      TARGETS_FRONT_MATTER + '# A',
      fence('sh', 'echo any'),
      fence('sh {target=local}', 'echo local'),
      fence('sh {target=kind timeout=2m}', 'echo kind'),
      // The info string is read as written: Markdown's own backslash escapes do not apply.
      fence(`sh {background=true name=traffic ready="summary \\(\\d+\\) \\"ok\\"" timeout=30s}`, 'client'),
      fence('sh {background}', 'server'),
      fence('sh {skip=true}', 'echo never'),
      fence('sh {always=true allow-errors=true}', 'echo cleanup'),
      fence('yaml {file=deploy/split.yaml target=local}', 'kind: TrafficSplit'),
      fence('yaml', 'kind: Shown'),
      fence('js {1,3}', 'console.log("renderer options on other languages are left alone")'),
    ].join('\n');
    const doc = parseDocument(md, 'doc.md');
    const b = doc.sections[0]!.blocks;
    assert.deepEqual(
      b.map((x) => [x.kind, x.target, x.file, x.name]),
      [
        ['run', null, null, null],
        ['run', 'local', null, null],
        ['run', 'kind', null, null],
        ['background', null, null, 'traffic'],
        ['background', null, null, `background-${b[4]!.line}`],
        ['show', null, null, null],
        ['run', null, null, null],
        ['stage', 'local', 'deploy/split.yaml', null],
        ['show', null, null, null],
        ['show', null, null, null],
      ],
    );
    assert.equal(b[2]!.attrs.timeoutMs, 120_000);
    assert.equal(b[3]!.attrs.ready, 'summary \\(\\d+\\) "ok"');
    assert.equal(b[3]!.attrs.timeoutMs, 30_000);
    assert.ok(new RegExp(b[3]!.attrs.ready!).test('summary (12) "ok"'));
    assert.ok(!new RegExp(b[3]!.attrs.ready!).test('summary 12 "ok"'));
    assert.equal(b[5]!.attrs.skip, true);
    assert.deepEqual([b[6]!.attrs.always, b[6]!.attrs.allowErrors], [true, true]);
  });

  it('rejects bad attributes with FILE:LINE', () => {
    const cases: Array<[string, RegExp]> = [
      ['sh {colour=red}', /unknown attribute "colour"/],
      ['sh {target=cloud}', /target must be local or kind/],
      ['sh {timeout=soon}', /timeout must be a duration/],
      ['sh {ready="x"}', /ready= needs background=true/],
      ['sh {skip=maybe}', /skip must be true or false/],
      ['sh {target=local target=kind}', /given twice/],
      ['sh {name="a b" background=true}', /name must be/],
      ['sh {background=true ready="("}', /not a valid regular expression/],
      ['sh {name="unclosed}', /unclosed quote/],
      ['sh target=kind', /attributes go in braces/],
      ['bash {file=x.yaml}', /file= only applies to yaml/],
      ['yaml {file=x.yaml always=true}', /always= only applies to sh/],
    ];
    for (const [info, message] of cases) {
      // The project's two targets: 3 lines of front matter first.
      const md = `${TARGETS_FRONT_MATTER}# A\n\nsome text\n\n${fence(info, 'true')}`;
      assert.throws(
        () => parseDocument(md, 'docs/x.md'),
        (e: Error & { exitCode?: number }) => {
          assert.match(e.message, /^docs\/x\.md:8: /, info);
          assert.match(e.message, message, info);
          assert.equal(e.exitCode, 2);
          return true;
        },
      );
    }
  });

  it('rejects two background blocks with the same name', () => {
    const md = `# A\n${fence('sh {background=true name=x}', 'a')}\n${fence('sh {background=true name=x}', 'b')}`;
    assert.throws(() => parseDocument(md, 'd.md'), /^Error: d\.md:6: background name "x" is already used at line 2|d\.md:6: background name "x" is already used at line 2/);
  });

  it('durations', () => {
    assert.equal(parseDuration('500ms', 't'), 500);
    assert.equal(parseDuration('90', 't'), 90_000);
    assert.equal(parseDuration('1.5m', 't'), 90_000);
    assert.equal(parseDuration('1h', 't'), 3_600_000);
    assert.throws(() => parseDuration('0s', 't'), /more than zero/);
  });

  it('keeps the user text exactly (no interpolation, no trimming inside)', () => {
    const body = 'echo "${HOME}" `date` $((1+2))\n\n  indented\\\n  continued';
    const doc = parseDocument(`# A\n${fence('sh', body)}`, 'd.md');
    assert.equal(doc.sections[0]!.blocks[0]!.text, body);
  });
});

describe('plan', () => {
  const md = [
    TARGETS_FRONT_MATTER + '# One',
    fence('sh', 'echo 1'),
    '## One.a',
    fence('sh {target=kind}', 'echo 1a-kind'),
    fence('sh {target=local}', 'echo 1a-local'),
    '### One.a.i',
    fence('sh', 'echo 1ai'),
    '## One.b',
    fence('sh {skip=true}', 'echo skipped'),
    '# Two',
    fence('sh', 'echo 2'),
  ].join('\n');
  const doc: Document = parseDocument(md, 'd.md');
  const runs = (plan: ReturnType<typeof makePlan>) =>
    plan.sections.flatMap((s) => s.steps.filter((x) => x.action === 'run').map((x) => x.block.text));

  it('selects blocks by target; blocks without a target run on both', () => {
    assert.deepEqual(runs(makePlan(doc, { target: 'local' })), ['echo 1', 'echo 1a-local', 'echo 1ai', 'echo 2']);
    assert.deepEqual(runs(makePlan(doc, { target: 'kind' })), ['echo 1', 'echo 1a-kind', 'echo 1ai', 'echo 2']);
    const skipped = makePlan(doc, { target: 'local' }).sections.flatMap((s) => s.steps.filter((x) => x.action === 'skip'));
    assert.deepEqual(
      skipped.map((x) => [x.block.text, x.reason]),
      [
        ['echo 1a-kind', 'target'],
        ['echo skipped', 'skip'],
      ],
    );
  });

  it('--only takes a section with its subsections, by number or id', () => {
    for (const key of ['2', 'onea']) {
      const plan = makePlan(doc, { target: 'local', only: key });
      assert.deepEqual(
        plan.sections.map((s) => s.section.id),
        ['onea', 'oneai'],
      );
    }
    assert.deepEqual(runs(makePlan(doc, { target: 'local', only: '1' })), ['echo 1', 'echo 1a-local', 'echo 1ai']);
  });

  it('--from runs from a section to the end, by number or id', () => {
    for (const key of ['3', 'oneai']) {
      assert.deepEqual(runs(makePlan(doc, { target: 'local', from: key })), ['echo 1ai', 'echo 2']);
    }
  });

  it('an unknown section is a usage error', () => {
    assert.throws(() => makePlan(doc, { target: 'local', only: 'nope' }), /--only nope: no such section in d\.md/);
    assert.throws(() => makePlan(doc, { target: 'local', from: '99' }), /--from 99: no such section/);
  });
});

describe('directives', () => {
  it('are runner: comments on lines of their own, with their line and the blocks above them', () => {
    const md = [
      '# One', // 1
      '<!-- runner:needs a b -->', // 2
      '', // 3
      fence('sh', 'echo 1').trimEnd(), // 4-6
      '', // 7
      '<!-- an author note: not ours -->', // 8
      '<!-- runner:expect pinned', // 9
      '     client=direct -->', // 10
      '', // 11
      '<details>', // 12
      '<summary>More</summary>', // 13
      '', // 14
      '<!-- runner:expect spread versions=v1 -->', // 15
      '', // 16
      fence('sh', 'echo 2').trimEnd(), // 17-19
      '', // 20
      '</details>', // 21
      '',
    ].join('\n');
    const doc = parseDocument(md, 'd.md');
    assert.deepEqual(
      doc.sections[0]!.directives.map((d) => [d.kind, d.args, d.line, d.afterBlocks]),
      [
        ['needs', 'a b', 2, 0],
        ['expect', 'pinned client=direct', 9, 1],
        ['expect', 'spread versions=v1', 15, 1],
      ],
    );
    assert.equal(doc.sections[0]!.blocks.length, 2);
  });

  it('of an unknown kind are refused with FILE:LINE', () => {
    const md = ['# One', '', 'Text.', '', '<!-- runner:neds a -->', ''].join('\n');
    assert.throws(() => parseDocument(md, 'd.md'), /^DocumentError: d\.md:5: unknown runner directive "runner:neds" \(known: runner:needs, runner:expect\)$/);
  });
});
