// The images' contents, built from the Dockerfile without Docker (replay.ts) and run: the
// server image's entrypoint serves, the client image's entrypoint reaches it, both stop cleanly
// on SIGTERM. This proves the compile, the copies (package.json's "type", the proto next to the
// compiled loader) and the pruned node_modules together, which reading the file cannot.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { parseServerListening } from '../../lib/readiness.ts';
import { parseSummaryLine, type Summary } from '../../lib/summary.ts';
import { parseDockerignore } from './dockerignore.ts';
import { effective, parseDockerfile, stageChain } from './dockerfile.ts';
import { DOCKERFILE, readRepoFile } from './image.ts';
import { REPO } from './load.ts';
import { replay, stageEnv, type Replay } from './replay.ts';

const stages = parseDockerfile(readRepoFile(DOCKERFILE));
const pkg = JSON.parse(readRepoFile('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const NODE_IN_IMAGE = '/nodejs/bin/node';

let dir = '';
let built: Replay;
const children: ChildProcess[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'image-replay-'));
  built = replay(REPO, stages, parseDockerignore(readRepoFile('.dockerignore')), dir, pkg);
});

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Start a target's ENTRYPOINT in its replayed root, as the container runtime would. */
function start(target: string, env: Record<string, string>): ChildProcess {
  const eff = effective(stages, target);
  const argv = eff.entrypoint!.json!;
  assert.equal(argv[0], NODE_IN_IMAGE, 'the entrypoint runs the image\'s node');
  const root = built.roots.get(target)!;
  const child = spawn(process.execPath, argv.slice(1), {
    cwd: join(root, eff.workdir),
    // Only what the image and the pod give: no PATH or NODE_OPTIONS from this test run.
    env: { ...stageEnv(stageChain(stages, target)), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

function lines(stream: NodeJS.ReadableStream, sink: string[]): AsyncIterableIterator<string> {
  const rl = createInterface({ input: stream });
  rl.on('line', (l) => sink.push(l));
  return rl[Symbol.asyncIterator]();
}

/** The first line `pick` accepts, or a failure naming what was seen, within `ms`. */
async function firstLine<T>(stream: NodeJS.ReadableStream, pick: (line: string) => T | undefined, ms: number, what: string, stderr: string[]): Promise<T> {
  const seen: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms; stdout: ${seen.join(' / ')}; stderr: ${stderr.join(' / ')}`)), ms);
  });
  const scan = (async () => {
    for await (const line of lines(stream, seen)) {
      const v = pick(line);
      if (v !== undefined) return v;
    }
    throw new Error(`stream ended before ${what}; stdout: ${seen.join(' / ')}; stderr: ${stderr.join(' / ')}`);
  })();
  try {
    return await Promise.race([scan, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}

function collect(stream: NodeJS.ReadableStream | null): string[] {
  const out: string[] = [];
  if (stream) createInterface({ input: stream }).on('line', (l) => out.push(l));
  return out;
}

describe('the images, replayed from the Dockerfile', () => {
  test('hold only what they need: compiled apps, the proto, package.json, the pruned packages', () => {
    for (const target of ['server', 'client']) {
      const app = join(built.roots.get(target)!, effective(stages, target).workdir);
      assert.deepEqual(readdirSync(app).sort(), ['dist', 'node_modules', 'package.json']);
      assert.ok(existsSync(join(app, 'dist/apps/proto/demo/v1/greeter.proto')));
      assert.ok(existsSync(join(app, `dist/apps/${target}/main.js`)));
      assert.ok(!existsSync(join(app, 'dist/apps/mesh')), 'the local mesh is not in the images');
      assert.ok(!existsSync(join(app, 'dist/test')), 'no tests in the images');
      const modules = readdirSync(join(app, 'node_modules'));
      for (const gone of ['zx', 'tsx', 'marked', 'yaml', 'typescript']) assert.ok(!modules.includes(gone), `${gone} is not shipped`);
      assert.ok(lstatSync(join(app, 'node_modules/@grpc/grpc-js')).isSymbolicLink());
    }
    // The build context itself leaves out the repository's local state and tests.
    for (const p of ['node_modules', '.git', 'test', 'deploy']) assert.ok(!existsSync(join(built.context, p)), `${p} is not in the context`);
  });

  test('the server image serves and the client image reaches it; both stop on SIGTERM with 0', async () => {
    const serverErr: string[] = [];
    const server = start('server', { HOST: '127.0.0.1', PORT: '0', VERSION: 'v1', POD_NAME: 'server-v1-replay', GRACE_MS: '2000' });
    serverErr.push(...collect(server.stderr));
    const port = await firstLine(server.stdout!, (l) => parseServerListening(l)?.port, 20_000, 'server start-up line', serverErr);

    const clientErr: string[] = [];
    const client = start('client', { SERVER_ADDR: `127.0.0.1:${port}`, RATE: '50', INTERVAL_MS: '300', LOG_FORMAT: 'json' });
    clientErr.push(...collect(client.stderr));
    const summary = await firstLine<Summary>(client.stdout!, (l) => {
      const s = parseSummaryLine(l);
      return s && s.ok > 0 ? s : undefined;
    }, 20_000, 'summary with answered calls', clientErr);
    assert.deepEqual(Object.keys(summary.byVersion), ['v1']);
    assert.deepEqual(Object.keys(summary.byPod), ['server-v1-replay']);
    assert.deepEqual(summary.errors, {});

    client.kill('SIGTERM');
    assert.equal(await exited(client), 0, `client exit; stderr: ${clientErr.join(' / ')}`);
    server.kill('SIGTERM');
    assert.equal(await exited(server), 0, `server exit; stderr: ${serverErr.join(' / ')}`);
  });
});
