import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { groupAlive, killAll, processAlive, stopGroup, waitGone } from '../lib/process-group.ts';

/** A bash leading its own group, with a `sleep` child: `trapTerm` makes both ignore SIGTERM. */
async function group(trapTerm: boolean): Promise<{ pid: number; child: number }> {
  const script = `${trapTerm ? 'trap "" TERM; ' : ''}sleep 30 & echo $!; wait`;
  const p = spawn('bash', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  p.unref();
  const child = await new Promise<number>((resolve) => p.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  p.stdout!.destroy();
  return { pid: p.pid!, child };
}

test('stopGroup: SIGTERM ends a group that heeds it, the & child included', async () => {
  const g = await group(false);
  try {
    assert.equal(await stopGroup(g.pid, { graceMs: 5000 }), 'stopped');
    assert.deepEqual(await waitGone([g.pid, g.child], 5000), []);
    assert.equal(groupAlive(g.pid), false);
  } finally {
    killAll([g.pid, g.child]);
  }
});

test('stopGroup: SIGKILL after the grace for a group that ignores SIGTERM; a gone group is "gone"', async () => {
  const g = await group(true);
  try {
    const t0 = Date.now();
    assert.equal(await stopGroup(g.pid, { graceMs: 300 }), 'killed');
    assert.ok(Date.now() - t0 >= 300, 'waited the grace first');
    assert.deepEqual(await waitGone([g.pid, g.child], 5000), []);
    assert.equal(processAlive(g.child), false);
    // The killed sleep is init's to reap; until it has, its zombie still counts as the group.
    for (const t = Date.now(); groupAlive(g.pid) && Date.now() - t < 5000; ) await new Promise((r) => setTimeout(r, 25));
    assert.equal(await stopGroup(g.pid, { graceMs: 300 }), 'gone');
  } finally {
    killAll([g.pid, g.child]);
  }
});
