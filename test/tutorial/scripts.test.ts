// The tutorial's helper scripts, run for real: the prerequisite check against a PATH holding
// only the tools a case needs (some of them fakes), and the summary-line wait against a log
// that grows while it waits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './doc.ts';
import { processAlive } from '../../lib/process-group.ts';

const CHECK = join(ROOT, 'scripts/check-prereqs.sh');
const AWAIT = join(ROOT, 'scripts/await-summaries.sh');

/** A folder for PATH with the basic tools the scripts use, and the given fake commands. */
function fakePath(dir: string, fakes: Record<string, string>): string {
  const bin = join(dir, 'bin');
  spawnSync('mkdir', ['-p', bin]);
  for (const tool of ['bash', 'dirname', 'sed', 'awk', 'grep', 'cat', 'wc', 'tail', 'sleep']) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) symlinkSync(found, join(bin, tool));
  }
  for (const [name, script] of Object.entries(fakes)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${script}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tutorial-scripts-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A docker whose engine answers, on the given cgroup version and image store. */
const docker = (cgroup: string, driverStatus = '[[Backing Filesystem extfs] [Supports d_type true]]') =>
  `case "$*" in *CgroupVersion*) echo ${cgroup} ;; *DriverStatus*) echo '${driverStatus}' ;; version*) echo 29.0.1 ;; esac; exit 0`;

function toolLine(out: string, tool: string): string {
  const l = out.split('\n').find((x) => new RegExp(`^\\S+\\s+${tool}\\s`).test(x));
  assert.ok(l, `no line for ${tool}:\n${out}`);
  return l!;
}

test('check-prereqs kind: one line and one hint per missing tool, exit 1', () => {
  withTmp((dir) => {
    const bin = fakePath(dir, {});
    const r = spawnSync(join(bin, 'bash'), [CHECK, 'kind'], { encoding: 'utf8', env: { PATH: bin, HOME: dir } });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    for (const tool of ['docker', 'kind', 'kubectl', 'curl', 'openssl']) {
      const line = r.stdout.split('\n').find((l) => l.startsWith('MISSING') && l.includes(` ${tool} `));
      assert.ok(line, `no MISSING line for ${tool}:\n${r.stdout}`);
      assert.match(line!, /https?:\/\/|package manager/, `no install hint for ${tool}: ${line}`);
    }
    assert.match(toolLine(r.stdout, 'openssl'), /openssl or shasum/);
    assert.match(r.stderr, /5 prerequisite\(s\) missing for the kind track/);
  });
});

test('check-prereqs kind: a docker CLI whose engine does not answer is missing; the rest passes', () => {
  withTmp((dir) => {
    const bin = fakePath(dir, {
      docker: 'if [ "$1" = info ]; then echo "Cannot connect to the Docker daemon" >&2; exit 1; fi; exit 0',
      kind: 'echo "kind v0.33.0 go1.25 linux/amd64"',
      kubectl: 'echo "Client Version: v1.35.4"; echo "Kustomize Version: v5.7.1"',
      curl: 'echo "curl 8.5.0 (x86_64-pc-linux-gnu)"',
      openssl: 'exit 0',
    });
    const r = spawnSync(join(bin, 'bash'), [CHECK, 'kind'], { encoding: 'utf8', env: { PATH: bin, HOME: dir } });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /MISSING\s+docker\s+the docker CLI is installed but the engine does not answer/);
    assert.match(r.stdout, /ok\s+kind\s+v0\.33\.0/);
    assert.match(r.stdout, /ok\s+kubectl\s+v1\.35\.4/);
    assert.match(r.stdout, /ok\s+curl\s+8\.5\.0/);
    assert.match(r.stderr, /1 prerequisite\(s\) missing/);
  });
});

test('check-prereqs kind: all there is exit 0; another kind release is only a note; shasum will do', () => {
  withTmp((dir) => {
    const bin = fakePath(dir, {
      docker: docker('2'),
      kind: 'echo "kind v0.31.0 go1.24 linux/amd64"',
      kubectl: 'echo "Client Version: v1.36.0"',
      curl: 'echo "curl 8.5.0 (x86_64-pc-linux-gnu)"',
      shasum: 'exit 0',
    });
    const r = spawnSync(join(bin, 'bash'), [CHECK, 'kind'], { encoding: 'utf8', env: { PATH: bin, HOME: dir } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /note\s+kind\s+the node image is pinned for kind v0\.33\.0; with v0\.31\.0/);
    assert.match(toolLine(r.stdout, 'cgroup'), /^ok\s+cgroup\s+v2/);
    assert.match(toolLine(r.stdout, 'shasum'), /^ok/);
    assert.doesNotMatch(r.stdout, /containerd image store/);
    assert.match(r.stdout, /all prerequisites for the kind track are here/);
  });
});

test('check-prereqs kind: kubectl outside one minor of the node image, a cgroup v1 host, the containerd image store', () => {
  withTmp((dir) => {
    const node = /^export KIND_NODE_IMAGE=kindest\/node:v1\.(\d+)\./m.exec(readFileSync(join(ROOT, 'scripts/versions.sh'), 'utf8'));
    assert.ok(node, 'scripts/versions.sh pins a kindest/node v1.N image');
    const minor = Number(node[1]);
    const range = `1.${minor - 1}-1.${minor + 1}`;
    for (const [kubectl, ok] of [[minor - 2, false], [minor - 1, true], [minor + 1, true], [minor + 2, false]] as const) {
      const bin = fakePath(join(dir, String(kubectl)), {
        docker: docker('1', '[[driver-type io.containerd.snapshotter.v1]]'),
        kind: 'echo "kind v0.33.0 go1.25 linux/amd64"',
        kubectl: `echo "Client Version: v1.${kubectl}.3"`,
        curl: 'echo "curl 8.5.0"',
        openssl: 'exit 0',
      });
      const r = spawnSync(join(bin, 'bash'), [CHECK, 'kind'], { encoding: 'utf8', env: { PATH: bin, HOME: dir } });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      const k = toolLine(r.stdout, 'kubectl');
      if (ok) assert.match(k, new RegExp(`^ok\\s+kubectl\\s+v1\\.${kubectl}\\.3`));
      else assert.ok(k.startsWith('MISSING') && k.includes(`found v1.${kubectl}.3; install kubectl ${range} (within one minor of the 1.${minor} cluster)`), k);
      assert.match(toolLine(r.stdout, 'cgroup'), /^MISSING\s+cgroup\s+.*cgroup v1.*need cgroup v2: boot with systemd\.unified_cgroup_hierarchy=1/);
      const store = r.stdout.split('\n').find((l) => /containerd image store/.test(l));
      assert.match(store ?? '', /^note\s+docker\s+.*kind #4066.*kind load image-archive image\.tar --name linkerd-smi.*containerd-snapshotter/);
      assert.match(r.stderr, new RegExp(`${ok ? 1 : 2} prerequisite\\(s\\) missing`));
    }
  });
});

test('check-prereqs: the local track passes here; no track is a usage error', () => {
  const ok = spawnSync(CHECK, ['local'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const bad = spawnSync(CHECK, [], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^usage: scripts\/check-prereqs\.sh kind\|local/);
});

const line = (n: number, fmt: 'text' | 'json') =>
  fmt === 'json'
    ? JSON.stringify({ ts: `2026-11-25T20:30:0${n}.000Z`, intervalMs: 1000, total: 1, ok: 1, errors: {}, byVersion: { v1: 1 }, byPod: { a: 1 }, latencyMs: { p50: 1, p99: 1 } })
    : `summary 2026-11-25T20:30:0${n}.000Z 1000ms total=1 ok=1 | v1=1 (100.0%) | errors=0 | p50=1.00ms p99=1.00ms | pods a=${n}`;

test('await-summaries prints only lines written after it started, text or json, other output ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tutorial-await-'));
  const log = join(dir, 'log');
  try {
    writeFileSync(log, `${line(0, 'text')}\nclient: connected\n`);
    // The command notes each call once it has printed the log, so the test knows when the
    // script's count of the old lines (the call without -f) is done, without guessing a delay.
    const calls = `${log}.calls`;
    const child = spawn(AWAIT, ['2', 'sh', '-c', 'cat "$0"; echo "x $*" >> "$0.calls"', log], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWAIT_TIMEOUT: '60' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const done = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const counted = () => existsSync(calls) && readFileSync(calls, 'utf8').split('\n').includes('x ');
    while (!counted() && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    appendFileSync(log, `client: note\n[pod/client-x/client] ${line(1, 'text')}\n`);
    appendFileSync(log, `${line(2, 'json')}\n`);
    assert.equal(await done, 0);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 2, out);
    assert.match(lines[0]!, /pods a=1$/);
    assert.match(lines[1]!, /"ts":"2026-11-25T20:30:02.000Z"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('await-summaries follows the log with COMMAND -f: two starts of COMMAND however long it waits, the follower stopped after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tutorial-await-'));
  const log = join(dir, 'log');
  try {
    writeFileSync(log, `${line(0, 'json')}\n`);
    // Each start notes its pid and arguments (the count once it has printed the log); with -f
    // it becomes a follower that never ends.
    const calls = `${log}.calls`;
    const cmd = 'if [ "$1" = -f ]; then echo "$$ $*" >> "$0.calls"; exec tail -n +1 -f "$0"; fi; cat "$0"; echo "$$" >> "$0.calls"';
    const child = spawn(AWAIT, ['2', 'sh', '-c', cmd, log], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWAIT_TIMEOUT: '60' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const done = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const starts = () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean) : []);
    while (starts().length < 2 && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    // Longer than the old once-a-second poll, so a poller would have started COMMAND again.
    await new Promise((r) => setTimeout(r, 2500));
    appendFileSync(log, `${line(1, 'text')}\nclient: note\n`);
    await new Promise((r) => setTimeout(r, 300));
    appendFileSync(log, `${line(2, 'text')}\n`);
    assert.equal(await done, 0);
    assert.deepEqual(out.trim().split('\n').map((l) => /pods a=(\d)/.exec(l)?.[1]), ['1', '2'], out);
    const started = starts();
    assert.equal(started.length, 2, started.join('\n'));
    const follower = started.find((s) => s.endsWith(' -f'));
    assert.ok(follower, started.join('\n'));
    const followerPid = Number(follower.split(' ')[0]);
    const alive = () => processAlive(followerPid);
    for (let i = 0; i < 40 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(), false, `follower ${followerPid} still running`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('await-summaries gives up after AWAIT_TIMEOUT with a message, and refuses bad usage', () => {
  withTmp((dir) => {
    const log = join(dir, 'log');
    writeFileSync(log, `${line(0, 'text')}\n`);
    const r = spawnSync(AWAIT, ['1', 'cat', log], { encoding: 'utf8', env: { ...process.env, AWAIT_TIMEOUT: '1' } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no 1 new summary line\(s\) from 'cat .*' within 1s \(saw 0\)/);
    // A command that fails (no pod yet, nothing up) counts as no lines, not as an error.
    const gone = spawnSync(AWAIT, ['1', 'cat', join(dir, 'nope')], { encoding: 'utf8', env: { ...process.env, AWAIT_TIMEOUT: '1' } });
    assert.equal(gone.status, 1);
    for (const args of [['0', 'cat'], ['x', 'cat'], ['1']]) {
      const u = spawnSync(AWAIT, args, { encoding: 'utf8' });
      assert.equal(u.status, 2, `args ${args.join(' ')}`);
      assert.match(u.stderr, /^usage: /);
    }
  });
});
