// Running blocks for real: carried exports and cd, bash text kept as bash, live output,
// background blocks, failures, timeouts, `always` blocks, and never waiting on a closed stdin.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fence, isAlive, killAll, readPids, runRunner, startRunner, tempDir, testEnv, waitGone, type TempDir, TARGETS_FRONT_MATTER } from './helpers.ts';

describe('running blocks', () => {
  let t: TempDir;
  let pids: number[] = [];
  beforeEach(() => {
    t = tempDir();
    pids = [];
  });
  afterEach(() => {
    killAll(pids);
    t.cleanup();
  });

  it('runs in the document folder and carries exports and cd forward; bash text stays bash', async () => {
    t.write(
      'docs/doc.md',
      [
        '# One',
        fence('sh', 'pwd > start.txt\nexport GREETING="hello world"\nexport -n NOT_EXPORTED=1 || true\nexport UNSET_ME=x\nmkdir -p sub && cd sub'),
        '# Two',
        fence('bash', 'unset UNSET_ME\nplain=local-only\necho "pwd=$(basename "$PWD") greeting=${GREETING} unset=${UNSET_ME-gone} bt=`echo tick`"'),
        fence('shell', 'echo "still=$(basename "$PWD") plain=${plain-none} unset=${UNSET_ME-gone} arith=$((6*7)) dollar=\\$HOME"'),
      ].join('\n'),
    );
    const r = await runRunner(['doc.md', '--yes'], { cwd: path.join(t.dir, 'docs') });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(t.read('docs/start.txt').trim(), realpathSync(path.join(t.dir, 'docs')));
    assert.match(r.stdout, /^pwd=sub greeting=hello world unset=gone bt=tick$/m);
    assert.match(r.stdout, /^still=sub plain=none unset=gone arith=42 dollar=\$HOME$/m);
  });

  it('works from any folder: the document folder is where blocks run', async () => {
    t.write('a/b/doc.md', `# A\n${fence('sh', 'basename "$PWD"')}`);
    const r = await runRunner([path.join(t.dir, 'a/b/doc.md'), '--yes'], { cwd: '/' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^b$/m);
  });

  it('streams output live and keeps stdout and stderr apart', async () => {
    const go = path.join(t.dir, 'go');
    t.write('doc.md', `# A\n${fence('sh', `echo "first-$((1))-line"\necho "to-$((2))-stderr" >&2\nwhile [ ! -e ${go} ]; do sleep 0.05; done\necho "after-$((3))-go"`)}`);
    const r = startRunner(['doc.md', '--yes'], { cwd: t.dir, timeoutMs: 30_000 });
    try {
      // The block is still running (it waits for `go`) and its first line is already here.
      await r.waitFor(/^first-1-line$/m);
      assert.doesNotMatch(r.stdout(), /after-3-go/);
      writeFileSync(go, '');
      const out = await r.done;
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^after-3-go$/m);
      assert.match(out.stderr, /^to-2-stderr$/m);
      assert.doesNotMatch(out.stdout, /^to-2-stderr$/m);
    } finally {
      r.kill();
    }
  });

  it('a failing block stops the run: section, FILE:LINE, command, exit code, stderr tail; exit 1', async () => {
    t.write(
      'doc.md',
      [
        '# Fine',
        fence('sh', 'echo fine'),
        '# Broken deploy',
        '',
        'Text.',
        '',
        fence('sh', 'echo starting\nfor i in 1 2 3; do echo "noise $i" >&2; done\nls /definitely/not/here \\\n  --color=never\necho not-reached'),
        fence('sh', 'echo next-block-not-reached'),
        '# Cleanup',
        fence('sh {always=true}', 'echo cleanup-ran'),
      ].join('\n'),
    );
    const r = await runRunner(['doc.md', '--yes'], { cwd: t.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed in section 2\. Broken deploy at doc\.md:13/);
    assert.match(r.stderr, /command: ls \/definitely\/not\/here \\\n\s+--color=never/);
    assert.match(r.stderr, /exited with code 2/);
    assert.match(r.stderr, /last lines of stderr:\n(.*\n)*.*noise 3\n(.*\n)*.*definitely\/not\/here/);
    assert.doesNotMatch(r.stdout, /^(next-block-)?not-reached$/m);
    assert.match(r.stdout, /^cleanup-ran$/m);
    assert.match(r.stderr, /run failed .*\(exit 1\)/);
  });

  it('set -u and syntax errors (no ERR trap) still point at FILE:LINE, with the document line in the stderr tail', async () => {
    t.write('u.md', `# U\n\n${fence('sh', 'echo fine\necho "$NOT_SET_ANYWHERE"')}`);
    const u = await runRunner(['u.md', '--yes'], { cwd: t.dir });
    assert.equal(u.code, 1);
    assert.match(u.stderr, /failed in section 1\. U at u\.md:5\n\s+command: echo "\$NOT_SET_ANYWHERE"/);
    assert.match(u.stderr, /│ u\.md:5: NOT_SET_ANYWHERE: unbound variable/);

    t.write('syntax.md', `# S\n${fence('bash', 'true\nif then fi (')}`);
    const s = await runRunner(['syntax.md', '--yes'], { cwd: t.dir });
    assert.equal(s.code, 1);
    assert.match(s.stderr, /at syntax\.md:4\n\s+command: if then fi \(/);
    assert.match(s.stderr, /│ syntax\.md:4: syntax error/);
  });

  it('an explicit exit code and a kill by signal are reported', async () => {
    t.write('doc.md', `# A\n${fence('sh', 'echo about to exit\nexit 7')}`);
    const r = await runRunner(['doc.md', '--yes'], { cwd: t.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /at doc\.md:2\n.*exited with code 7/);

    t.write('sig.md', `# A\n${fence('sh', 'kill -KILL $$')}`);
    const s = await runRunner(['sig.md', '--yes'], { cwd: t.dir });
    assert.equal(s.code, 1);
    assert.match(s.stderr, /killed by SIGKILL/);
  });

  it('a block past its timeout is killed, with its whole process group, and fails', async () => {
    const pidFile = path.join(t.dir, 'pids');
    t.write('doc.md', `# Slow\n${fence('sh {timeout=1s}', `sleep 60 & echo $! >> ${pidFile}\necho $$ >> ${pidFile}\nsleep 60`)}`);
    const r = await runRunner(['doc.md', '--yes'], { cwd: t.dir, timeoutMs: 20_000 });
    pids = readPids(pidFile);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /timed out after 1s/);
    assert.equal(pids.length, 2);
    assert.deepEqual(await waitGone(pids), []);

    // --timeout sets the default.
    t.write('slow2.md', `# Slow\n${fence('sh', 'sleep 60')}`);
    const d = await runRunner(['slow2.md', '--yes', '--timeout', '500ms'], { cwd: t.dir, timeoutMs: 20_000 });
    assert.equal(d.code, 1);
    assert.match(d.stderr, /timed out after 500ms/);
  });

  it('background blocks: ready gates the next block, output goes to .tutorial/<name>.log, stopped at the end', async () => {
    const pidFile = path.join(t.dir, 'pids');
    t.write(
      'doc.md',
      [
        '# Start',
        fence(
          'sh {background=true name=ticker ready="ready at \\d+"}',
          `echo $$ >> ${pidFile}\nsleep 300 & echo $! >> ${pidFile}\necho "warming up"\nsleep 0.3\necho "ready at $(date +%s)"\nwhile true; do echo tick; sleep 0.1; done`,
        ),
        fence('sh', 'grep -c "ready at" .tutorial/ticker.log\necho "after ready"'),
        '# More',
        fence('sh', 'sleep 0.3; echo done-more'),
      ].join('\n'),
    );
    const r = await runRunner(['doc.md', '--yes'], { cwd: t.dir });
    pids = readPids(pidFile);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    // The next block saw the ready line already in the log.
    assert.match(r.stdout, /^1\nafter ready$/m);
    assert.match(r.stdout, /\[ticker\] warming up/);
    assert.match(r.stdout, /ticker ready/);
    const log = t.read('.tutorial/ticker.log');
    assert.match(log, /^warming up\nready at \d+\n(tick\n)+/);
    assert.equal(t.read('.tutorial/.gitignore'), '*\n');
    assert.equal(pids.length, 2);
    assert.deepEqual(await waitGone(pids), [], 'background process group stopped');
  });

  it('a background block that never gets ready fails the run after its timeout; one that exits fails at once', async () => {
    t.write('doc.md', `# A\n${fence('sh {background=true name=slow ready="never" timeout=1s}', 'while true; do echo nope; sleep 0.1; done')}\n${fence('sh', 'echo not-reached')}`);
    const r = await runRunner(['doc.md', '--yes'], { cwd: t.dir, timeoutMs: 20_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /slow: no output line matched \/never\/ within 1s/);
    assert.doesNotMatch(r.stdout, /^(next-block-)?not-reached$/m);

    t.write('exits.md', `# A\n${fence('sh {background=true name=quitter ready="never"}', 'echo bye; exit 3')}`);
    const e = await runRunner(['exits.md', '--yes'], { cwd: t.dir, timeoutMs: 20_000 });
    assert.equal(e.code, 1);
    assert.match(e.stderr, /quitter exited with code 3 before its output matched/);
  });

  it('blocks for the other target are skipped quietly; skip=true blocks never run', async () => {
    t.write(
      'doc.md',
      // The project's two targets: 3 lines of front matter first.
      [TARGETS_FRONT_MATTER + '# A', fence('sh {target=kind}', 'echo kind-ran'), fence('sh {target=local}', 'echo local-ran'), fence('sh {skip=true}', 'echo skip-ran')].join('\n'),
    );
    const local = await runRunner(['doc.md', '--yes'], { cwd: t.dir });
    assert.equal(local.code, 0);
    assert.doesNotMatch(local.stdout, /doc\.md:5|kind/, 'a section with something to run does not list the other target\'s blocks');
    assert.match(local.stdout, /^local-ran$/m);
    assert.doesNotMatch(local.stdout, /^(kind|skip)-ran$/m);
    const kind = await runRunner(['doc.md', '--yes', '--target', 'kind'], { cwd: t.dir });
    assert.match(kind.stdout, /^kind-ran$/m);
    assert.doesNotMatch(kind.stdout, /^(local|skip)-ran$/m);
  });

  it('a section with nothing for this target says so once; --list still shows every section, and the other target\'s blocks under its own --target', async () => {
    const kindOnly = (n: number) => fence('sh {target=kind}', `echo kind-${n}`);
    t.write('doc.md', [TARGETS_FRONT_MATTER + '# Cluster', kindOnly(1), kindOnly(2), kindOnly(3), '# Both', fence('mermaid', 'flowchart LR\n  a --> b'), fence('sh', 'echo both-ran')].join('\n'));
    const r = await runRunner(['doc.md', '--yes'], { cwd: t.dir });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const heading = lines.findIndex((l) => /^# 1\. Cluster/.test(l));
    assert.equal(lines[heading + 1], '↷ nothing to run here on target local (3 blocks for kind, see --list --target kind)');
    assert.equal(r.stdout.match(/↷/g)?.length, 1, 'one line for the section, none a block');
    assert.doesNotMatch(r.stdout, /skipped|flowchart/);
    assert.match(r.stdout, /doc\.md:\d+ \(diagram: rendered where the Markdown is/);
    assert.match(r.stdout, /^both-ran$/m);

    const list = await runRunner(['doc.md', '--list'], { cwd: t.dir });
    assert.match(list.stdout, /1 {2}Cluster {2}#cluster/);
    assert.match(list.stdout, /2 {2}Both {2}#both\n.*run {8}echo both-ran/);
    const kindList = await runRunner(['doc.md', '--list', '--target', 'kind'], { cwd: t.dir });
    assert.equal(kindList.stdout.match(/run {8}echo kind-\d/g)?.length, 3);
  });

  it('with stdin closed (or not a TTY) it never waits on input, with or without --yes', async () => {
    t.write('doc.md', `# A\n\nIntro.\n\n${fence('sh', 'echo one')}\n# B\n${fence('sh', 'read -r line || echo "stdin is empty"')}`);
    for (const args of [['doc.md', '--yes'], ['doc.md']]) {
      const r = await runRunner(args, { cwd: t.dir, stdin: 'pipe', timeoutMs: 20_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^one$/m);
      assert.match(r.stdout, /^stdin is empty$/m);
    }
  });

  it('--pause N waits between sections without reading input', async () => {
    t.write('doc.md', `# A\n${fence('sh', 'echo a')}\n# B\n${fence('sh', 'echo b')}`);
    const r = await runRunner(['doc.md', '--pause', '0.2'], { cwd: t.dir, stdin: 'pipe', timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/next section in 0\.2s/g)?.length, 2);
  });

  it('leaves no temp files and no processes after a clean run', async () => {
    const pidFile = path.join(t.dir, 'pids');
    t.write('doc.md', `# A\n${fence('sh', `echo $$ >> ${pidFile}\n(sleep 60 & echo $! >> ${pidFile})`)}\n${fence('sh', 'echo ok')}`);
    const tmp = path.join(t.dir, 'tmp');
    mkdirSync(tmp);
    const r = await runRunner(['doc.md', '--yes'], { cwd: t.dir, env: testEnv({ TMPDIR: tmp }) });
    pids = readPids(pidFile);
    assert.equal(r.code, 0, r.stderr);
    // (tsx keeps its compile cache there; that one is not ours.)
    assert.deepEqual(readdirSync(tmp).filter((f) => !f.startsWith('tsx-')), [], 'the runner removed its temp folder');
    // A stray `&` child of an ordinary block ends with it.
    assert.deepEqual(await waitGone(pids), []);
    assert.ok(pids.every((p) => !isAlive(p)));
    assert.ok(!existsSync(path.join(t.dir, '.tutorial')), 'no state folder without background blocks');
    assert.equal(readFileSync(path.join(t.dir, 'doc.md'), 'utf8').includes('echo ok'), true);
  });
});
