// The images run as uid 65532 with a read-only root filesystem (deploy/linkerd/*.yaml:
// readOnlyRootFilesystem: true). Without a container engine, the fair stand-in: run the server
// and the client as that uid (setpriv, when the tests run as root, who may write anywhere),
// with the working folder, HOME and TMPDIR all one folder nobody may write, and check that
// they serve and stop cleanly and left no file behind in the places anyone may write to.
// That uid reads the programs from a copy when this checkout is out of its reach (as-user.ts).

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { parseServerListening } from '../../lib/readiness.ts';
import { parseSummaryLine } from '../../lib/summary.ts';
import { checkoutFor, dropTo, isRoot as root, SETPRIV, type Checkout } from './as-user.ts';
import { ROOT } from './helpers.ts';

const UID = 65532;
const skip = root && !SETPRIV ? 'running as root without setpriv: root may write to a read-only folder' : false;

/** Files owned by the test uid in the world-writable places. */
function strayFiles(): string[] {
  if (!root) return [];
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      try {
        if (statSync(p).uid === UID) out.push(p);
        if (e.isDirectory() && depth < 3) walk(p, depth + 1);
      } catch {
        // gone meanwhile
      }
    }
  };
  for (const d of ['/tmp', '/var/tmp', '/dev/shm', tmpdir()]) walk(d, 0);
  return [...new Set(out)];
}

function start(checkout: Checkout, program: 'server' | 'client', cwd: string, env: Record<string, string>): ChildProcess {
  // tsx without its compile cache (the images run compiled JavaScript, with no tsx at all).
  const node = [process.execPath, '--import', checkout.at(import.meta.resolve('tsx')), checkout.at(join(ROOT, 'apps', program, 'main.ts'))];
  const cmd = root ? [...dropTo(UID), ...node] : node;
  return spawn(cmd[0]!, cmd.slice(1), {
    cwd,
    // Nothing from the test's environment that names a writable place.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, TMPDIR: cwd, TSX_DISABLE_CACHE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function firstMatch<T>(child: ChildProcess, pick: (line: string) => T | undefined, what: string, ms = 30_000): Promise<T> {
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms; stderr: ${err}`)), ms);
    child.once('exit', (code) => reject(new Error(`exited ${code} before ${what}; stderr: ${err}`)));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const v = pick(l);
      if (v !== undefined) {
        clearTimeout(timer);
        resolve(v);
      }
    });
  });
}

const exited = (c: ChildProcess) => (c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise<number | null>((r) => c.once('exit', (code) => r(code))));

describe('the apps on a read-only filesystem', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'readonly-'));
  const children: ChildProcess[] = [];
  let checkout: Checkout | undefined;
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
    checkout?.cleanup();
  });

  it(`server and client run as uid ${root ? UID : 'of the test'} with cwd, HOME and TMPDIR read-only, and write nothing`, async (t) => {
    chmodSync(dir, 0o555);
    if (!root) {
      // The same check as the kernel's, for the uid that will run.
      const probe = spawnSync('sh', ['-c', `touch "${join(dir, 'x')}"`]);
      assert.notEqual(probe.status, 0, 'the folder must refuse writes');
    }
    checkout = checkoutFor(UID);
    if (checkout.copied) t.diagnostic(`uid ${UID} cannot read ${ROOT}: the programs run from a copy in ${checkout.root}`);
    const before = new Set(strayFiles());
    const server = start(checkout, 'server', dir, { HOST: '127.0.0.1', PORT: '0', VERSION: 'v1', POD_NAME: 'server-v1-ro', GRACE_MS: '1000' });
    children.push(server);
    const port = await firstMatch(server, (l) => parseServerListening(l)?.port, 'server start-up line');
    const client = start(checkout, 'client', dir, { SERVER_ADDR: `127.0.0.1:${port}`, RATE: '100', INTERVAL_MS: '300', LOG_FORMAT: 'json' });
    children.push(client);
    const s = await firstMatch(client, (l) => {
      const x = parseSummaryLine(l);
      return x && x.ok > 0 ? x : undefined;
    }, 'a summary with answered calls');
    assert.deepEqual(s.errors, {});
    assert.deepEqual(Object.keys(s.byPod), ['server-v1-ro']);
    client.kill('SIGTERM');
    assert.equal(await exited(client), 0, 'client stops with 0');
    server.kill('SIGTERM');
    assert.equal(await exited(server), 0, 'server stops with 0');
    assert.deepEqual(readdirSync(dir), [], 'nothing in the working folder');
    const stray = strayFiles().filter((f) => !before.has(f));
    t.diagnostic(root ? `ran as uid ${UID}; files it owns in /tmp, /var/tmp, /dev/shm: ${stray.length}` : 'ran as the test user');
    assert.deepEqual(stray, [], 'no file written anywhere writable');
  });
});
