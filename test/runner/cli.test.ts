// `node runner.mjs` as a user calls it: --help, --list, --json, --dry-run, --only/--from,
// usage errors, and the source tutorial as it is.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fence, NO_SEED, runRunner, SEED, tempDir, TARGETS_FRONT_MATTER, type TempDir } from './helpers.ts';

// The project's two targets: 3 lines of front matter first.
const DOC = [
  TARGETS_FRONT_MATTER + '# Setup',
  '',
  'Prepare things.',
  '',
  fence('sh', 'echo "setup ran"'),
  '## Local only',
  fence('sh {target=local}', 'echo "local ran"'),
  fence('sh {target=kind}', 'echo "kind ran"'),
  '## Shown',
  fence('yaml', 'kind: JustShown'),
  fence('sh {skip=true}', 'echo "never"'),
  '# Traffic',
  fence('sh {background=true name=ticker ready="tick 1"}', 'echo "tick 1"; sleep 30'),
  fence('yaml {file=deploy/split.yaml}', '...\nspec:\n  backends:\n    - service: v1\n      weight: 90\n    - service: v2\n      weight: 10'),
  fence('sh', 'echo "traffic ran"'),
  '# Cleanup',
  fence('sh {always=true}', 'echo "cleanup ran"'),
].join('\n');

const SPLIT = `# the split under test
apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata:
  name: s
spec:
  service: apex # apex service
  backends:
    - service: v1
      weight: 100
`;

describe('runner CLI', () => {
  let t: TempDir;
  before(() => {
    t = tempDir();
    t.write('doc.md', DOC);
    t.write('deploy/split.yaml', SPLIT);
  });
  after(() => t.cleanup());

  it('--help documents the exit codes', async () => {
    const r = await runRunner(['--help'], { cwd: t.dir });
    assert.equal(r.code, 0);
    for (const code of ['0', '1', '2', '130']) assert.match(r.stdout, new RegExp(`^\\s+${code}\\s+\\S`, 'm'));
    assert.match(r.stdout, /--target NAME/);
    assert.match(r.stdout, /--no-verify/);
  });

  it('usage and document errors are one line and exit 2', async () => {
    t.write('bad.md', `${TARGETS_FRONT_MATTER}# A\n\n${fence('sh {target=moon}', 'true')}`);
    const cases: Array<[string[], RegExp]> = [
      [['--bogus'], /Unknown option '--bogus'/],
      [['--target', 'cloud', 'doc.md'], /--target must be local or kind/],
      [['--json', 'doc.md'], /--json goes with --list or --dry-run/],
      [['--only', 'nope', 'doc.md'], /--only nope: no such section in doc\.md/],
      [['--timeout', 'forever', 'doc.md'], /--timeout must be a duration/],
      [['missing.md'], /missing\.md: cannot read/],
      [['bad.md'], /^runner: bad\.md:6: target must be local or kind/],
      [[], /tutorial\.md: cannot read/],
    ];
    for (const [args, message] of cases) {
      const r = await runRunner(args, { cwd: t.dir });
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
    }
  });

  it('--list shows sections and the blocks that would run on the target', async () => {
    const local = await runRunner(['doc.md', '--list'], { cwd: t.dir });
    assert.equal(local.code, 0, local.stderr);
    assert.match(local.stdout, /1\s+Setup\s+#setup/);
    assert.match(local.stdout, /2\s+Local only\s+#local-only/);
    assert.match(local.stdout, /echo "local ran"/);
    assert.doesNotMatch(local.stdout, /kind ran/);
    assert.doesNotMatch(local.stdout, /never|JustShown/);
    assert.match(local.stdout, /background\s+echo "tick 1"/);
    assert.match(local.stdout, /stage\s+→ deploy\/split\.yaml/);
    const kind = await runRunner(['doc.md', '--list', '--target', 'kind'], { cwd: t.dir });
    assert.match(kind.stdout, /echo "kind ran"/);
    assert.doesNotMatch(kind.stdout, /local ran/);
  });

  it('--list --json has the documented shape', async () => {
    const r = await runRunner(['doc.md', '--list', '--json'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stderr);
    const sections = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      sections.map((s) => [s.number, s.id, s.title, s.depth, s.line]),
      [
        [1, 'setup', 'Setup', 1, 4],
        [2, 'local-only', 'Local only', 2, 12],
        [3, 'shown', 'Shown', 2, 21],
        [4, 'traffic', 'Traffic', 1, 30],
        [5, 'cleanup', 'Cleanup', 1, 49],
      ],
    );
    const blocks = sections.flatMap((s) => s.blocks as Array<Record<string, unknown>>);
    for (const b of blocks) {
      assert.deepEqual(
        ['line', 'lang', 'kind', 'target', 'file', 'text'].filter((k) => !(k in b)),
        [],
        `block keys ${Object.keys(b)}`,
      );
    }
    assert.deepEqual(
      blocks.map((b) => [b.line, b.lang, b.kind, b.target, b.file]),
      [
        [8, 'sh', 'run', null, null],
        [13, 'sh', 'run', 'local', null],
        [22, 'yaml', 'show', null, null],
        [26, 'sh', 'show', null, null],
        [31, 'sh', 'background', null, null],
        [35, 'yaml', 'stage', null, 'deploy/split.yaml'],
        [45, 'sh', 'run', null, null],
        [50, 'sh', 'run', null, null],
      ],
    );
    assert.equal(blocks[0]!.text, 'echo "setup ran"');
  });

  it('--dry-run prints every block that would run, in order, with stage diffs, and runs nothing', async () => {
    const before = t.read('deploy/split.yaml');
    const r = await runRunner(['doc.md', '--dry-run'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stderr);
    const order = ['echo "setup ran"', 'echo "local ran"', 'echo "tick 1"; sleep 30', '-      weight: 100', '+      weight: 90', '+      weight: 10', 'echo "traffic ran"', 'echo "cleanup ran"'];
    let at = -1;
    for (const needle of order) {
      const i = r.stdout.indexOf(needle, at + 1);
      assert.ok(i > at, `${needle} after the previous one in:\n${r.stdout}`);
      at = i;
    }
    assert.match(r.stdout, /doc\.md:17 skipped \(target kind\)/);
    assert.match(r.stdout, /--- a\/deploy\/split\.yaml/);
    assert.doesNotMatch(r.stdout, /^setup ran$/m);
    assert.equal(t.read('deploy/split.yaml'), before);

    const json = await runRunner(['doc.md', '--dry-run', '--json'], { cwd: t.dir });
    const stage = (JSON.parse(json.stdout) as Array<{ blocks: Array<Record<string, string>> }>)
      .flatMap((s) => s.blocks)
      .find((b) => b.kind === 'stage')!;
    assert.match(stage.diff!, /\+      weight: 10/);
  });

  it('--only and --from pick sections by number and by id', async () => {
    const ran = (out: string) => [...out.matchAll(/^(\w+) ran$/gm)].map((m) => m[1]);
    for (const key of ['1', 'setup']) {
      const r = await runRunner(['doc.md', '--yes', '--only', key], { cwd: t.dir });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(ran(r.stdout), ['setup', 'local'], `--only ${key}`);
    }
    for (const key of ['5', 'cleanup']) {
      const r = await runRunner(['doc.md', '--yes', '--from', key], { cwd: t.dir });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(ran(r.stdout), ['cleanup'], `--from ${key}`);
    }
    const r = await runRunner(['doc.md', '-y', '--no-verify', '--from', 'local-only', '--target', 'kind'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ran(r.stdout), ['kind', 'traffic', 'cleanup']);
  });
});

describe('the source tutorial as it is', { skip: NO_SEED }, () => {
  it('--list shows its sections and its six shell blocks', async () => {
    const r = await runRunner([SEED, '--list', '--json'], { cwd: tempDirFree() });
    assert.equal(r.code, 0, r.stderr);
    const sections = JSON.parse(r.stdout) as Array<{ id: string; blocks: Array<{ kind: string; line: number }> }>;
    assert.deepEqual(
      sections.map((s) => s.id),
      ['east-west-traffic-management-via-smi-and-linkerd', 'prep', 'kind', 'linkerd', 'smi-extension', 'demo'],
    );
    const runs = sections.flatMap((s) => s.blocks.filter((b) => b.kind === 'run').map((b) => b.line));
    assert.deepEqual(runs, [30, 46, 56, 77, 109, 143]);
    // The weight edits have no file= attribute: shown, not applied.
    assert.equal(sections.flatMap((s) => s.blocks).filter((b) => b.kind === 'show').length, 3);

    const text = await runRunner([SEED, '--list'], { cwd: tempDirFree() });
    assert.equal(text.code, 0);
    assert.equal(text.stdout.match(/ run /g)?.length, 6);
    for (const title of ['Prep', 'kind', 'linkerd', 'smi extension', 'Demo']) assert.match(text.stdout, new RegExp(`\\s${title}\\s+#`));
  });

  it('--dry-run prints its commands in order', async () => {
    const r = await runRunner([SEED, '--dry-run'], { cwd: tempDirFree() });
    assert.equal(r.code, 0, r.stderr);
    const commands = [
      'kind create cluster --name linkerd-smi',
      'docker build -t grpc-load-balancing/client:1 --target client -f Dockerfile .',
      'kind load docker-image grpc-load-balancing/server:1 --name linkerd-smi',
      'linkerd install --crds | kubectl apply -f -',
      'linkerd check',
      'curl -sL https://linkerd.github.io/linkerd-smi/install | sh',
      'linkerd smi check',
      'kubectl create namespace link',
      'kubectl apply -f ./deploy/linkerd/server-split.yaml -n link',
      'kubectl logs -f -l app=client -n link',
      'kubectl apply -f ./deploy/linkerd/server-split.yaml -n link',
      'kubectl delete namespace link',
      'kind delete clusters linkerd-smi',
    ];
    let at = -1;
    for (const c of commands) {
      const i = r.stdout.indexOf(c, at + 1);
      assert.ok(i > at, `${c} in order`);
      at = i;
    }
    assert.doesNotMatch(r.stdout, /weight: 95/);
  });
});

/** The seed is read by path; the runner must work from any folder. */
function tempDirFree(): string {
  return '/';
}
