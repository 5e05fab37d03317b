// Ctrl-C and the prompts: exit 130, no process left behind, edited files restored, `always`
// blocks run. Prompts need a terminal, so those tests run the runner under `script` (a pty).

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FIXTURE_SPLIT as SPLIT, fence, hasScript, killAll, readPids, startOnPty, startRunner, tempDir, waitForFile, waitGone, type TempDir } from './helpers.ts';


const shift = fence('yaml {file=split.yaml}', 'spec:\n  backends:\n    - service: v1\n      weight: 50\n    - service: v2\n      weight: 50');

/** A document whose second section blocks until killed; every process writes its pid. */
function doc(dir: string): string {
  const pids = path.join(dir, 'pids');
  return [
    '# Setup',
    '',
    'Intro of setup.',
    '',
    fence('sh', `echo $$ >> ${pids}`),
    shift,
    fence('sh {background=true name=bg ready="bg up"}', `echo $$ >> ${pids}\nsleep 300 & echo $! >> ${pids}\necho "bg up"\nwait`),
    '# Work',
    '',
    'Intro of work.',
    '',
    fence('sh', `echo $$ >> ${pids}\nsleep 300 & echo $! >> ${pids}\ntouch ${path.join(dir, 'in-block')}\nsleep 300`),
    fence('sh', `touch ${path.join(dir, 'never')}`),
    '# Cleanup',
    '',
    'Intro of cleanup.',
    '',
    fence('sh {always=true}', `grep -q "weight: 50" split.yaml && echo edited > ${path.join(dir, 'always-saw')}\necho ran > ${path.join(dir, 'always')}`),
  ].join('\n');
}

/** `script` runs the command as its only child: that is the runner. */
function runnerPid(scriptPid: number): number {
  const children = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === scriptPid;
      } catch {
        return false;
      }
    })
    .map(Number);
  assert.equal(children.length, 1, `script has one child: ${children}`);
  const cmdline = readFileSync(`/proc/${children[0]}/cmdline`, 'utf8');
  assert.match(cmdline, /runner\.mjs/);
  return children[0]!;
}

describe('interrupts', () => {
  let t: TempDir;
  let pids: number[] = [];
  beforeEach(() => {
    t = tempDir();
    t.write('split.yaml', SPLIT);
    t.write('doc.md', doc(t.dir));
    pids = [];
  });
  afterEach(() => {
    killAll([...pids, ...readPids(path.join(t.dir, 'pids'))]);
    t.cleanup();
  });

  const assertCleanedUp = async (out: { code: number | null }) => {
    pids = readPids(path.join(t.dir, 'pids'));
    assert.equal(out.code, 130);
    assert.ok(pids.length >= 2, `pids written: ${pids}`);
    assert.deepEqual(await waitGone(pids), [], 'every block process is gone');
    assert.equal(t.read('split.yaml'), SPLIT, 'edited file restored');
    assert.equal(t.read('always').trim(), 'ran', 'always block ran');
    assert.equal(t.read('always-saw').trim(), 'edited', 'always block ran before files were restored');
  };

  it('SIGINT mid-block: stops it and the background block, runs always blocks, restores files, exits 130', async () => {
    const r = startRunner(['doc.md', '--yes'], { cwd: t.dir, timeoutMs: 40_000 });
    try {
      await waitForFile(path.join(t.dir, 'in-block'));
      process.kill(r.pid, 'SIGINT');
      const out = await r.done;
      await assertCleanedUp(out);
      assert.ok(!existsSync(path.join(t.dir, 'never')), 'no block after the interrupted one');
      assert.match(out.stderr, /interrupted/);
    } finally {
      r.kill();
    }
  });

  it('SIGTERM is handled like Ctrl-C', async () => {
    const r = startRunner(['doc.md', '--yes'], { cwd: t.dir, timeoutMs: 40_000 });
    try {
      await waitForFile(path.join(t.dir, 'in-block'));
      process.kill(r.pid, 'SIGTERM');
      await assertCleanedUp(await r.done);
    } finally {
      r.kill();
    }
  });

  it('SIGINT at a prompt: exits 130, cleans up the same way', { skip: !hasScript() && 'needs util-linux script' }, async () => {
    const r = startOnPty(['doc.md'], { cwd: t.dir, timeoutMs: 40_000 });
    try {
      await r.waitFor(/Intro of setup\.[\s\S]*Enter run · s skip · q quit/);
      r.type('\r');
      // Section 1 ran; now the runner waits at the prompt for section 2.
      await r.waitFor(/Intro of work\.[\s\S]*Enter run · s skip · q quit/);
      process.kill(runnerPid(r.pid), 'SIGINT');
      const out = await r.done;
      await assertCleanedUp(out);
      assert.ok(!existsSync(path.join(t.dir, 'in-block')), 'section 2 never started');
    } finally {
      r.kill();
    }
  });

  it('at a prompt Enter runs, s skips, q quits (130); Ctrl-C typed at a prompt interrupts', { skip: !hasScript() && 'needs util-linux script' }, async () => {
    t.write(
      'keys.md',
      ['# A', fence('sh', 'echo "A=$((1))"'), '# B', fence('sh', 'echo "B=$((2))"'), '# C', fence('sh', 'echo "C=$((3))"'), '# D', fence('sh {always=true}', 'echo "D=$((4))"')].join('\n'),
    );
    const r = startOnPty(['keys.md'], { cwd: t.dir, timeoutMs: 30_000 });
    try {
      await r.waitFor(/1\. A[\s\S]*Enter run/);
      r.type('\r');
      await r.waitFor(/A=1[\s\S]*2\. B[\s\S]*Enter run/);
      r.type('s');
      await r.waitFor(/skipped section 2\. B[\s\S]*3\. C[\s\S]*Enter run/);
      r.type('q');
      const out = await r.done;
      assert.equal(out.code, 130);
      assert.match(out.stdout, /^A=1\r?$/m);
      assert.doesNotMatch(out.stdout, /^[BC]=\d\r?$/m);
      // Quitting is an early end: the always block still runs.
      assert.match(out.stdout, /^D=4\r?$/m);
    } finally {
      r.kill();
    }

    const c = startOnPty(['keys.md'], { cwd: t.dir, timeoutMs: 30_000 });
    try {
      await c.waitFor(/1\. A[\s\S]*Enter run/);
      c.type('\x03');
      const out = await c.done;
      assert.equal(out.code, 130);
      assert.doesNotMatch(out.stdout, /^A=1\r?$/m);
      assert.match(out.stdout, /^D=4\r?$/m);
    } finally {
      c.kill();
    }
  });

  it('s at a cleanup section: its always block does not run, and the runner says how to run it later', { skip: !hasScript() && 'needs util-linux script' }, async () => {
    t.write('clean.md', ['# Demo', fence('sh', 'echo "demo=$((1))"'), '# Clean up', fence('sh {always=true}', `echo "down=$((2))" > ${path.join(t.dir, 'down')}`)].join('\n'));
    const r = startOnPty(['clean.md'], { cwd: t.dir, timeoutMs: 30_000 });
    try {
      await r.waitFor(/1\. Demo[\s\S]*Enter run/);
      r.type('\r');
      await r.waitFor(/demo=1[\s\S]*2\. Clean up[\s\S]*Enter run/);
      r.type('s');
      const out = await r.done;
      assert.equal(out.code, 0, out.stdout);
      assert.ok(!existsSync(path.join(t.dir, 'down')), 'a skipped section stays skipped, always blocks included');
      assert.match(out.stdout, /skipped section 2\. Clean up[\s\S]*its always block did not run; later: node runner\.mjs clean\.md --only clean-up/);
    } finally {
      r.kill();
    }
    // The hint's command does the cleanup.
    const later = startRunner(['clean.md', '--only', 'clean-up', '--yes'], { cwd: t.dir, timeoutMs: 30_000 });
    try {
      assert.equal((await later.done).code, 0);
      assert.equal(t.read('down').trim(), 'down=2');
    } finally {
      later.kill();
    }
  });
});
