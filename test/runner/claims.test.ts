// Traffic claims as the author writes them: parsed and validated before anything runs (a bad
// one is FILE:LINE, exit 2, with nothing done), listed by --list and --dry-run (JSON too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from '../../runner/document.ts';
import { DocumentError } from '../../runner/errors.ts';
import { documentClaims, parseClaim } from '../../runner/observe/claims.ts';
import { fence, runRunner, tempDir, testEnv, TARGETS_FRONT_MATTER } from './helpers.ts';

test('each claim with its keys, and the defaults', () => {
  assert.deepEqual(parseClaim('pinned client=direct', 'd.md', 7), { kind: 'pinned', line: 7, afterBlocks: 0, client: 'direct', calls: null, windows: 1, text: 'pinned client=direct' });
  const spread = parseClaim('spread versions=v2,v1 calls=120', 'd.md', 3, 2);
  assert.deepEqual(spread, { kind: 'spread', line: 3, afterBlocks: 2, client: 'meshed', calls: 120, windows: 3, text: 'spread versions=v2,v1 calls=120', versions: ['v1', 'v2'] });
  const shares = parseClaim('shares v1=95 v2=5', 'd.md', 1);
  assert.equal(shares.kind, 'shares');
  assert.deepEqual(shares.kind === 'shares' && shares.weights, { v1: 95, v2: 5 });
  const none = parseClaim('errors none', 'd.md', 1);
  assert.equal(none.kind === 'errors' && none.from, undefined);
  const canary = parseClaim('errors from=v2 rate=2.5%', 'd.md', 1);
  assert.equal(canary.kind === 'errors' && canary.rate, 0.025);
  assert.equal(canary.kind === 'errors' && canary.from, 'v2');
  assert.equal((parseClaim('errors from=v2 rate=0.1', 'd.md', 1) as { rate: number }).rate, 0.1);
  // errors: the calls it needs are derived when checked (from the rate), unless given.
  assert.equal(canary.calls, null);
  assert.equal(parseClaim('errors none calls=50', 'd.md', 1).calls, 50);
  // group= on shares and errors: only the calls with the client's header, or only the others.
  const header = parseClaim('shares group=header v2=100', 'd.md', 4);
  assert.deepEqual(header, { kind: 'shares', line: 4, afterBlocks: 0, client: 'meshed', calls: 100, windows: 3, group: 'header', text: 'shares group=header v2=100', weights: { v2: 100 } });
  assert.equal(parseClaim('errors none group=plain', 'd.md', 1).group, 'plain');
  assert.equal(parseClaim('shares v1=1', 'd.md', 1).group, undefined);
});

test('unknown claims, keys and values are FILE:LINE errors', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /names no claim/],
    ['pinnned', /unknown claim "pinnned" \(known: pinned, spread, shares, errors\)/],
    ['pinned clients=direct', /pinned: unknown key clients= \(known: client=, calls=, windows=\)/],
    ['pinned client=sidecar', /client= must be meshed or direct, got "sidecar"/],
    ['pinned calls=0', /calls= takes a whole number >= 1, got "0"/],
    ['pinned direct', /expected key=value, got "direct"/],
    ['pinned client=direct client=meshed', /client= given twice/],
    ['spread', /spread: needs versions=/],
    ['spread versions=V1', /versions= has "V1", not a version name/],
    ['shares v1=lots', /shares: v1= takes a weight/],
    ['shares v1=0', /with a weight above 0/],
    ['errors', /errors: say none, or from=VERSION/],
    ['errors none from=v2', /none takes no from= or rate=/],
    ['errors from=v2 rate=150%', /rate= takes a share of calls above 0 and below 1/],
    ['errors from=v2 rate=0', /rate= takes a share/],
    ['shares group=beta v2=100', /shares: group= must be header or plain, got "beta"/],
    ['shares group=header', /shares: needs VERSION=WEIGHT pairs/],
    ['errors none group=', /expected key=value, got "group="/],
    ['spread versions=v2 group=header', /spread: group= is for shares and errors claims/],
    ['pinned group=plain', /pinned: group= is for shares and errors claims/],
    ['shares group=header group=plain v2=1', /group= given twice/],
  ];
  for (const [args, re] of bad) {
    assert.throws(
      () => parseClaim(args, 'doc.md', 12),
      (e: unknown) => e instanceof DocumentError && e.file === 'doc.md' && e.line === 12 && re.test(e.message) && e.message.startsWith('doc.md:12: runner:expect: '),
      args,
    );
  }
});

test('claims attach to their section, with the line of the comment', () => {
  const doc = parseDocument(['# One\n', 'Prose.\n<!-- runner:expect pinned client=direct -->\n', fence('sh', 'true'), '# Two\n', fence('sh', 'true'), '<!-- runner:expect spread versions=v1 -->\n'].join('\n'), 'd.md');
  const claims = [...documentClaims(doc)].map(([s, cs]) => [s.title, cs.map((c) => [c.kind, c.line, c.afterBlocks])]);
  assert.deepEqual(claims, [
    ['One', [['pinned', 4, 0]]],
    ['Two', [['spread', 16, 1]]],
  ]);
});

test('a bad claim stops the run before any block runs: exit 2, FILE:LINE', async () => {
  const t = tempDir();
  try {
    t.write('doc.md', ['# Setup\n', fence('sh', 'touch ran.txt'), '# Later\n', '<!-- runner:expect spread version=v1 -->\n'].join('\n'));
    for (const args of [['doc.md', '--yes'], ['doc.md', '--list'], ['doc.md', '--dry-run', '--json']]) {
      const r = await runRunner(args, { cwd: t.dir });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /doc\.md:9: runner:expect: spread: unknown key version= \(known: client=, calls=, windows=, versions=\)/);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    }
    assert.equal(existsSync(path.join(t.dir, 'ran.txt')), false, 'nothing ran');
  } finally {
    t.cleanup();
  }
});

test('--list, --dry-run and their JSON show each claim where it stands', async () => {
  const t = tempDir();
  try {
    // The project's two targets: 3 lines of front matter before the heading.
    t.write('doc.md', [TARGETS_FRONT_MATTER + '# Direct\n', '<!-- runner:expect pinned client=direct -->\n', fence('sh {target=kind}', 'true'), '# Meshed\n', '<!-- runner:expect  spread   versions=v1 -->\n<!-- runner:expect errors none -->\n'].join('\n'));
    for (const target of ['local', 'kind']) {
      const json = await runRunner(['doc.md', '--list', '--json', '--target', target], { cwd: t.dir });
      assert.equal(json.code, 0, json.stderr);
      const sections = JSON.parse(json.stdout) as Array<{ title: string; claims: Array<{ kind: string; line: number; text: string; client: string }> }>;
      assert.deepEqual(
        sections.map((s) => [s.title, s.claims.map((c) => [c.kind, c.line, c.text, c.client])]),
        [
          ['Direct', [['pinned', 6, 'pinned client=direct', 'direct']]],
          ['Meshed', [['spread', 14, 'spread versions=v1', 'meshed'], ['errors', 15, 'errors none', 'meshed']]],
        ],
        `the claims attach to sections on ${target} too`,
      );
    }
    const dry = await runRunner(['doc.md', '--dry-run'], { cwd: t.dir, env: testEnv() });
    assert.match(dry.stdout, /doc\.md:6 expect \(checked when the section ends, direct client\)\n {4}pinned client=direct/);
    assert.match(dry.stdout, /doc\.md:15 expect .*\n {4}errors none/);
    const list = await runRunner(['doc.md', '--list'], { cwd: t.dir, env: testEnv() });
    assert.match(list.stdout, /line 14 +expect +spread versions=v1/);
  } finally {
    t.cleanup();
  }
});
