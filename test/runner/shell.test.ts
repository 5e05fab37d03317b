// runner/shell.ts in-process: each block's bash is started one block ahead and waits for its
// block; what that must not change (stdin, fds, the timeout) and what must not outlive a session.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { closeSession, createSession, runBlock, sessionParent, type BlockResult, type ShellSession } from '../../runner/shell.ts';
import { isAlive, waitGone } from './helpers.ts';

async function run(session: ShellSession, text: string, timeoutMs?: number): Promise<{ result: BlockResult; stdout: string }> {
  let stdout = '';
  const handle = runBlock(session, {
    text,
    label: 'test',
    onStdout: (c) => (stdout += c.toString()),
    onStderr: () => {},
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  return { result: await handle.done, stdout };
}

describe('shell sessions', () => {
  let dir: string;
  let session: ShellSession | null;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'shell-test-'));
    session = createSession(dir);
  });
  afterEach(() => {
    if (session) closeSession(session);
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries exports and the folder from block to block', async () => {
    const s = session!;
    mkdirSync(path.join(dir, 'sub'));
    assert.equal((await run(s, 'export GREETING=hello\ncd sub')).result.code, 0);
    const { result, stdout } = await run(s, 'echo "$GREETING $(basename "$PWD")"');
    assert.equal(result.code, 0);
    assert.equal(stdout, 'hello sub\n');
  });

  it("a block's stdin is /dev/null and the pipe its bash waited on is closed", async () => {
    const { stdout } = await run(session!, 'if read -r x; then echo "read: $x"; else echo eof; fi\n[ -e /dev/fd/3 ] && echo fd3-open || echo fd3-closed');
    assert.equal(stdout, 'eof\nfd3-closed\n');
  });

  it('the timeout counts from when the block starts, not from when its bash did', async () => {
    const s = session!;
    await run(s, 'true');
    // The next block's bash is already waiting; let it wait longer than the timeout allows.
    await new Promise((r) => setTimeout(r, 600));
    const ok = await run(s, 'sleep 0.2', 500);
    assert.equal(ok.result.timedOut, false);
    assert.equal(ok.result.code, 0);
    const late = await run(s, 'sleep 5', 300);
    assert.equal(late.result.timedOut, true);
  });

  it('a waiting bash killed from outside is replaced: the next block runs all the same', async () => {
    const s = session!;
    await run(s, 'export KEPT=yes');
    const waiting = s.spare!.pid;
    // Its block is handed over at once: before the runner has even seen it exit.
    process.kill(waiting, 'SIGKILL');
    const { result, stdout } = await run(s, 'echo "$KEPT"');
    assert.equal(result.code, 0);
    assert.equal(stdout, 'yes\n');
    assert.deepEqual(await waitGone([waiting]), []);
  });

  it('closing the session ends the bash waiting for a next block', async () => {
    const s = session!;
    await run(s, 'true');
    const waiting = s.spare?.pid;
    assert.ok(waiting !== undefined && waiting > 0 && isAlive(waiting), 'a bash waits for the next block');
    closeSession(s);
    session = null;
    assert.deepEqual(await waitGone([waiting]), []);
  });
});

describe('where the session keeps its files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'shell-parent-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('TMPDIR, when set, wins: the system temp folder (which follows it) over a runtime folder', () => {
    assert.equal(sessionParent({ TMPDIR: '/elsewhere', XDG_RUNTIME_DIR: dir }), os.tmpdir());
  });

  it('otherwise a runtime folder that is there and writable, then /dev/shm, then the temp folder', () => {
    assert.equal(sessionParent({ XDG_RUNTIME_DIR: dir }), dir);
    const fallback = sessionParent({ XDG_RUNTIME_DIR: path.join(dir, 'missing') });
    assert.ok(fallback === '/dev/shm' || fallback === os.tmpdir(), fallback);
    assert.notEqual(sessionParent({ XDG_RUNTIME_DIR: 'relative/path' }), 'relative/path');
  });
});
