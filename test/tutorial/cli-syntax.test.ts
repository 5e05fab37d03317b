// The kind track's commands, checked without a cluster.
//
// kubectl: every kubectl invocation of the kind plan (`node runner.mjs --target kind --dry-run`,
// pipes, `if`s, `$(...)` and await-summaries' command included) runs through the real kubectl
// against a kubeconfig whose server is a loopback port this test bound and closed, with the
// HTTPS proxy (for `-f URL`) on the same port. kubectl parses flags, subcommands, `--for`
// conditions and jsonpath before any request, so a mistake fails with its own message; reaching
// the refused port is what passing looks like.
//
// kind and linkerd: every subcommand and flag the plan uses must be listed in cli-sources.json,
// which names the upstream file defining it at the pinned version.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './doc.ts';
import { dryRun } from './kind-plan.ts';
import { planInvocations, type Invocation } from './plan-commands.ts';

const KUBECTL = '/usr/bin/kubectl';
const plan = dryRun('kind');

/** The values the plan's variables take when it runs: the pins, a pod name for $old, and $had_profile set. */
function planVars(): Record<string, string> {
  const sh = readFileSync(join(ROOT, 'scripts/versions.sh'), 'utf8');
  const pins = Object.fromEntries([...sh.matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  return { ...pins, old: 'pod/client-5d7c9f-abcde', had_profile: 'yes' };
}

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface Kubectl {
  run(args: string[]): { ok: boolean; output: string };
  cleanup(): void;
}

async function refusedKubectl(): Promise<Kubectl> {
  const port = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-syntax-'));
  const kubeconfig = join(dir, 'kubeconfig');
  // The context the plan names (kind creates it), so `use-context` and `--context` resolve.
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: refused, cluster: {server: "https://127.0.0.1:${port}"}}]`,
      'users: [{name: nobody, user: {token: not-a-token}}]',
      'contexts: [{name: kind-linkerd-smi, context: {cluster: refused, user: nobody}}]',
      'current-context: kind-linkerd-smi',
      '',
    ].join('\n'),
  );
  const proxy = `http://127.0.0.1:${port}`;
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig, HTTPS_PROXY: proxy, https_proxy: proxy, HTTP_PROXY: proxy, http_proxy: proxy, NO_PROXY: '', no_proxy: '' };
  // What `linkerd install | kubectl apply -f -` and the like would read: one small object.
  const stdin = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: syntax-check\n';
  return {
    run(args) {
      const r = spawnSync(KUBECTL, args, { cwd: ROOT, env, input: stdin, encoding: 'utf8', timeout: 30_000 });
      const output = `${r.stdout}${r.stderr}`.trim();
      // The error kubectl stopped on is its last line: a refused connection means everything it
      // checks before a request passed (some commands look the resource up first, then reject a
      // bad --for: that shows as the refusal, then the real error last).
      const last = output.split('\n').at(-1) ?? '';
      const url = args.map((a) => /^https:\/\/([^/]+)\//.exec(a)?.[1]).find(Boolean);
      const refused =
        last.startsWith(`The connection to the server 127.0.0.1:${port} was refused`) ||
        // apply: schema validation downloads the server's openapi first.
        last.includes(`dial tcp 127.0.0.1:${port}: connect: connection refused`) ||
        // -f URL: the download went to the proxy on the closed port.
        (url !== undefined && last.startsWith(`The connection to the server ${url} was refused`));
      return { ok: r.status === 0 || refused, output: output.split('\n').slice(-2).join('\n') };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const noKubectl = existsSync(KUBECTL) ? false : `${KUBECTL} is not installed here`;

test('every kubectl command of the kind plan parses with the real kubectl; only the connection fails', { skip: noKubectl, timeout: 240_000 }, async () => {
  const calls = planInvocations('kubectl', planVars(), plan);
  assert.ok(calls.length >= 40, `only ${calls.length} kubectl commands found in the plan`);
  // The ones inside pipes, ifs, $(...) and await-summaries are among them.
  for (const needle of ['apply -f -', 'get configmap -n linkerd linkerd-config', 'get pods -n link -l app=client -o name', 'logs -n link client-direct', 'rollout restart -n link deploy/client']) {
    assert.ok(calls.some((c) => c.args.join(' ').includes(needle)), `no kubectl ${needle} in the plan's commands`);
  }
  const kubectl = await refusedKubectl();
  try {
    const bad = calls.map((c) => [c, kubectl.run(c.args)] as const).filter(([, r]) => !r.ok);
    assert.deepEqual(
      bad.map(([c, r]) => `${c.where}: kubectl ${c.args.join(' ')}\n    ${r.output}`),
      [],
      'kubectl rejected these before any request',
    );
  } finally {
    kubectl.cleanup();
  }
});

test('a broken copy fails: an unknown flag, subcommand or --for condition is refused before any request', { skip: noKubectl, timeout: 60_000 }, async () => {
  const calls = planInvocations('kubectl', planVars(), plan);
  const pick = (re: RegExp): Invocation => {
    const c = calls.find((x) => x.args.some((a) => re.test(a)));
    assert.ok(c, `the plan has no kubectl command with ${re}`);
    return c!;
  };
  const breaks: Array<[string, string[]]> = [
    ['--timeout= misspelt', pick(/^--timeout=/).args.map((a) => a.replace(/^--timeout=/, '--timout='))],
    ['--for=condition misspelt', pick(/^--for=condition=/).args.map((a) => a.replace(/^--for=condition=/, '--for=conditoin='))],
    ['rollout restart misspelt', pick(/^restart$/).args.map((a) => (a === 'restart' ? 'restrat' : a))],
    ['an unknown flag', [...pick(/^--ignore-not-found$/).args, '--no-such-flag']],
  ];
  const kubectl = await refusedKubectl();
  try {
    for (const [what, args] of breaks) {
      const r = kubectl.run(args);
      assert.equal(r.ok, false, `${what}: kubectl ${args.join(' ')} was accepted:\n${r.output}`);
      assert.match(r.output, /unknown flag|unknown command|unrecognized condition/, `${what}: ${r.output}`);
    }
    // And the same commands unbroken pass.
    for (const re of [/^--timeout=/, /^--for=condition=/, /^restart$/]) assert.equal(kubectl.run(pick(re).args).ok, true);
  } finally {
    kubectl.cleanup();
  }
});

type Sources = Record<'kind' | 'linkerd', Record<string, { source: string; flags: Record<string, string> }>>;
const sources = JSON.parse(readFileSync(new URL('./cli-sources.json', import.meta.url), 'utf8')) as Sources;

/** Problems of one invocation against the listed subcommands: unlisted subcommand or flag. */
function unlisted(tool: 'kind' | 'linkerd', c: Invocation): string[] {
  const listed = sources[tool];
  const words = c.args.filter((a) => !a.startsWith('-'));
  // The longest run of leading words that names a listed subcommand; the rest are arguments.
  let sub: string | undefined;
  for (let n = words.length; n > 0 && !sub; n--) if (listed[words.slice(0, n).join(' ')]) sub = words.slice(0, n).join(' ');
  if (!sub || !c.args.join(' ').startsWith(sub)) return [`${c.where}: ${tool} ${c.args.join(' ')}: subcommand not in cli-sources.json`];
  return c.args
    .filter((a) => a.startsWith('-'))
    .map((a) => a.replace(/=.*/, ''))
    .filter((f) => !(f in listed[sub!]!.flags))
    .map((f) => `${c.where}: ${tool} ${sub} ${f}: flag not in cli-sources.json (add it with the upstream file that defines it)`);
}

test('every kind and linkerd subcommand and flag of the plan is listed with its upstream source', () => {
  const vars = planVars();
  for (const tool of ['kind', 'linkerd'] as const) {
    const calls = planInvocations(tool, vars, plan);
    assert.ok(calls.length >= 4, `only ${calls.length} ${tool} commands found in the plan`);
    assert.deepEqual(calls.flatMap((c) => unlisted(tool, c)), []);
    // And nothing listed that the plan no longer uses, so the list stays the plan's.
    const used = new Set(calls.flatMap((c) => c.args.map((a) => a.replace(/=.*/, ''))));
    const said = calls.map((c) => ` ${c.args.join(' ')} `);
    for (const [sub, entry] of Object.entries(sources[tool])) {
      assert.ok(said.some((t) => t.startsWith(` ${sub} `)), `cli-sources.json lists ${tool} ${sub}, which the plan does not use`);
      for (const f of Object.keys(entry.flags)) assert.ok(used.has(f), `cli-sources.json lists ${tool} ${sub} ${f}, which the plan does not use`);
    }
    for (const [sub, entry] of Object.entries(sources[tool])) {
      assert.match(entry.source, /^(kubernetes-sigs\/kind|linkerd\/linkerd2|linkerd\/linkerd-smi) \S+ \S+\.go/, `${tool} ${sub}: source names repository, version and file`);
    }
  }
});

test('the listing check fails on a subcommand or flag the fixture does not have', () => {
  const where = 'broken copy';
  assert.deepEqual(unlisted('kind', { where, args: ['create', 'cluster', '--name', 'x'], text: '' }), []);
  assert.match(unlisted('kind', { where, args: ['create', 'cluster', '--retain'], text: '' }).join(), /kind create cluster --retain: flag not in cli-sources\.json/);
  assert.match(unlisted('linkerd', { where, args: ['uninstall'], text: '' }).join(), /linkerd uninstall: subcommand not in cli-sources\.json/);
  assert.match(unlisted('linkerd', { where, args: ['smi', 'install', '--skip-checks'], text: '' }).join(), /flag not in/);
});
