// A process local-mesh starts is known again by the program file in its command line, so a pid
// the system gave to another program since is never taken for it.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isAlive, startDetached } from '../../scripts/local-mesh/processes.ts';
import { killAll, waitGone } from '../runner/helpers.ts';

describe('startDetached', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lm-proc-'));
  const pids: number[] = [];
  after(async () => {
    killAll(pids);
    await waitGone(pids);
    rmSync(dir, { recursive: true, force: true });
  });

  it('marks a compiled program by its file, not by the V8 flags before it', async () => {
    const file = path.join(dir, 'wait.js');
    writeFileSync(file, 'setTimeout(() => {}, 60_000);\n');
    const p = startDetached({ name: 'wait', args: ['--lite-mode', '--no-expose-wasm', file], env: {}, log: path.join(dir, 'wait.log'), cwd: dir });
    pids.push(p.pid);
    assert.equal(p.mark, file);
    assert.equal(isAlive(p), true);
    // Another node process with the same flags is not this one.
    assert.equal(isAlive({ pid: process.pid, mark: p.mark }), false);
  });
});
