// One section of the local tutorial on its own, as a reader who jumps to it runs it:
// `node runner.mjs --only ID --yes` in a fresh copy of the project with nothing running. The
// runner must bring up what the section needs, pass the section's own check, leave the demo
// up and say how to stop it. Then three sections in a row, each with its own verdict whatever
// ran before, and the cleanup section alone stopping everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { readDocument } from '../../runner/document.ts';
import { isActive, makePlan } from '../../runner/plan.ts';
import { loadState, paths } from '../../scripts/local-mesh/state.ts';
import { startedPids as startedIn } from '../drills/helpers.ts';
import { isAlive, killAll, waitGone } from '../runner/helpers.ts';
import { copyProject, runCopy, type CopyRun } from './copy-project.ts';

const TEARDOWN = 'remove-the-demo';
/** The stage each shifting section ends in (its own split, not what ran before). */
const STAGE: Record<string, string> = {
  '5-to-v2': '95/5',
  'roll-back': '100/0',
  'half-and-half': '50/50',
  'all-to-v2': '0/100',
  'hand-the-split-over-to-a-grpcroute': '0/100',
  'shift-with-the-route': '100/0',
};

const only = (dir: string, id: string): Promise<CopyRun> => runCopy(dir, ['--yes', '--only', id], 120_000);

const meshPaths = (dir: string) => paths({ LOCAL_MESH_DIR: path.join(dir, '.local-mesh') });
/** Every process local-mesh ever started in this copy, by pid. */
const startedPids = (dir: string) => startedIn(path.join(dir, '.local-mesh'));
const runningPids = (dir: string) => (loadState(meshPaths(dir))?.processes ?? []).map((p) => p.pid).filter(isAlive);

/** Back to nothing running and no state: stop what the demo left up by pid, forget its state. */
async function stopByPid(dir: string): Promise<void> {
  const pids = startedPids(dir);
  killAll(pids);
  assert.deepEqual(await waitGone(pids), [], 'the demo stopped');
  rmSync(path.join(dir, '.local-mesh'), { recursive: true, force: true });
}

function clean(dir: string): string {
  return execFileSync('git', ['status', '--porcelain'], { cwd: dir, encoding: 'utf8' });
}

/** Sections whose own blocks do something on the local target. */
function localSections(dir: string): string[] {
  const plan = makePlan(readDocument(path.join(dir, 'tutorial.md')), { target: 'local' });
  return plan.sections.filter((p) => p.steps.some(isActive)).map((p) => p.section.id);
}

function assertVerdict(id: string, r: CopyRun): void {
  const want = STAGE[id];
  if (want === undefined) {
    assert.doesNotMatch(r.out, /stage \S+: /, `${id} changes no split, so nothing is checked`);
    return;
  }
  const verdicts = [...r.out.matchAll(/^([✓✗]) stage (\S+): .*$/gm)];
  assert.equal(verdicts.length, 1, `${id}: one verdict, for the section itself:\n${r.out.slice(-3000)}`);
  assert.equal(verdicts[0]![1], '✓', verdicts[0]![0]);
  assert.equal(verdicts[0]![2], want, verdicts[0]![0]);
}

test('each local section runs on its own from a fresh state, passes its checks and leaves the demo up', { timeout: 1_200_000 }, async (t) => {
  const dir = copyProject('only-each-');
  const times: string[] = [];
  try {
    const ids = localSections(dir);
    assert.ok(ids.includes('half-and-half') && ids.includes(TEARDOWN) && ids.length >= 10, ids.join(' '));
    for (const id of ids) {
      assert.deepEqual(runningPids(dir), [], `nothing runs before --only ${id}`);
      const r = await only(dir, id);
      times.push(`${id} ${(r.ms / 1000).toFixed(1)} s`);
      assert.equal(r.code, 0, `--only ${id}:\n${r.out.slice(-4000)}`);
      assertVerdict(id, r);
      assert.equal(clean(dir), '', `--only ${id} puts the edited files back`);
      const needsDemo = id !== 'prerequisites' && id !== TEARDOWN;
      if (needsDemo) {
        assert.match(r.out, new RegExp(`^↑ bringing up what ${id} needs, without prompting: prerequisites\\b`, 'm'));
        assert.match(r.out, /^the demo stays up, to look at; stop it with: node runner\.mjs tutorial\.md --only remove-the-demo \(it runs: node scripts\/local-mesh\.mjs down\)$/m);
        const up = runningPids(dir);
        assert.equal(up.length, 8, `--only ${id} leaves the servers, the proxy and the client running`);
        await stopByPid(dir);
      } else {
        assert.doesNotMatch(r.out, /bringing up|stays up/);
        assert.deepEqual(runningPids(dir), []);
      }
    }
  } finally {
    t.diagnostic(`wall time of --only from a fresh state: ${times.join(', ')}`);
    killAll(startedPids(dir));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('three sections in a row each end with their own verdict; the cleanup section alone stops everything', { timeout: 600_000 }, async (t) => {
  const dir = copyProject('only-row-');
  try {
    let first: number[] | undefined;
    for (const id of ['half-and-half', 'all-to-v2', 'shift-with-the-route']) {
      const r = await only(dir, id);
      t.diagnostic(`--only ${id} after the one before: ${(r.ms / 1000).toFixed(1)} s`);
      assert.equal(r.code, 0, `--only ${id}:\n${r.out.slice(-4000)}`);
      assertVerdict(id, r);
      assert.match(r.out, /^the demo stays up/m);
      // The same demo throughout: bringing it up again found it up.
      const pids = runningPids(dir);
      assert.equal(pids.length, 8);
      first ??= pids;
      assert.deepEqual(pids, first, `--only ${id} reused the demo the run before left up`);
    }
    assert.equal(clean(dir), '');

    const down = await only(dir, 'cleanup');
    assert.equal(down.code, 0, down.out);
    assert.match(down.out, /stopped 8 processes/);
    assert.doesNotMatch(down.out, /stays up/);
    assert.deepEqual(await waitGone(startedPids(dir)), [], 'every process the demo started is gone');
    assert.equal(existsSync(meshPaths(dir).state), false, 'and local-mesh has no state left');
    assert.equal(clean(dir), '');
  } finally {
    killAll(startedPids(dir));
    rmSync(dir, { recursive: true, force: true });
  }
});
