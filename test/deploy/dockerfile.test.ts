// No Docker engine runs here, so the Dockerfile is proven by reading it: the two targets
// exist, everything copied from the context is in the repository and in the context, the
// images run as a non-root user with an exec-form entrypoint that is our compiled app, the
// linter is silent, and the lean production node_modules holds every package the apps import.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validate } from 'dockerfile-utils';
import { parseDockerignore, type IgnoreMatcher } from './dockerignore.ts';
import { argDefault, baseImage, contextCopies, effective, imagePathOf, isNonRootUser, parseDockerfile, stageChain, type Stage } from './dockerfile.ts';
import { DOCKERFILE, exists, readRepoFile, TARGETS, traceEntry } from './image.ts';
import { programNeeds, type ProgramNeeds } from './imports.ts';
import { REPO } from './load.ts';

const text = readRepoFile(DOCKERFILE);
const stages = parseDockerfile(text);
const ignored = parseDockerignore(readRepoFile('.dockerignore'));
const pkg = JSON.parse(readRepoFile('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const needs = new Map(TARGETS.map((t) => [t, programNeeds(REPO, [traceEntry(stages, t).source])]));

/** The same Dockerfile with one line replaced (matched by its start), parsed. */
function edited(from: string, to: string): Stage[] {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.startsWith(from));
  assert.ok(i >= 0, `Dockerfile has no line starting ${from}`);
  lines[i] = to;
  return parseDockerfile(lines.join('\n'));
}

function copySourceProblems(st: Stage[], isIgnored: IgnoreMatcher, present = exists): string[] {
  const problems: string[] = [];
  for (const copy of contextCopies(st)) {
    for (const source of copy.sources) {
      if (/[*?[]/.test(source)) problems.push(`Dockerfile:${copy.line}: ${source}: wildcards are not checked here; name the paths`);
      else if (!present(source)) problems.push(`Dockerfile:${copy.line}: ${copy.keyword} source ${source} does not exist in the repository`);
      else if (isIgnored(source)) problems.push(`Dockerfile:${copy.line}: ${copy.keyword} source ${source} is excluded by .dockerignore`);
    }
  }
  return problems;
}

// The distroless :nonroot tags run as uid 65532 when no USER is given.
const NONROOT_BASE = /^gcr\.io\/distroless\/.*:(debug-)?nonroot$/;

function userProblems(st: Stage[], target: string): string[] {
  const eff = effective(st, target);
  const base = baseImage(st, target);
  if (!eff.user) return NONROOT_BASE.test(base) ? [] : [`${target}: no USER, and base ${base} runs as root`];
  const { value, line } = eff.user;
  if (!isNonRootUser(value)) return [`Dockerfile:${line}: ${target} runs as USER ${value}`];
  if (!/^\d+(:\d+)?$/.test(value)) return [`Dockerfile:${line}: USER ${value} is not numeric; the kubelet cannot check runAsNonRoot against a name`];
  return [];
}

function execFormProblems(st: Stage[], target: string): string[] {
  const eff = effective(st, target);
  const problems: string[] = [];
  if (!eff.entrypoint && !eff.cmd) problems.push(`${target}: no ENTRYPOINT or CMD`);
  for (const step of [eff.entrypoint, eff.cmd]) {
    if (step && (!step.json || step.json.length === 0)) {
      problems.push(`Dockerfile:${step.line}: ${target} ${step.keyword} is in shell form; node would not be PID 1 and would miss SIGTERM`);
    }
  }
  return problems;
}

/**
 * The images' Node: one supported LTS major in every stage (what compiles the code and what
 * installs its dependencies is what runs them). Node 20, the machines' own, is past its end of
 * life and distroless stopped publishing it.
 */
const IMAGE_NODE_MAJOR = 24;

/** External bases carry an exact version: node:24.x.y-..., or the distroless Node 24 image. */
function baseProblems(st: Stage[]): string[] {
  const names = new Set(st.map((s) => s.name));
  const problems: string[] = [];
  const major = IMAGE_NODE_MAJOR;
  for (const s of st) {
    if (names.has(s.from)) continue;
    if (/^node:/.test(s.from) && !new RegExp(`^node:${major}\\.\\d+\\.\\d+(-[a-z0-9-]+)?(@sha256:[0-9a-f]{64})?$`).test(s.from)) {
      problems.push(`Dockerfile:${s.line}: ${s.from} is not pinned to an exact Node ${major} release`);
    } else if (!/^node:/.test(s.from) && !s.from.startsWith(`gcr.io/distroless/nodejs${major}-`)) {
      problems.push(`Dockerfile:${s.line}: base ${s.from} is neither node:${major} nor distroless nodejs${major}`);
    } else if (/:latest$/.test(s.from) || !/[:@]/.test(s.from)) {
      problems.push(`Dockerfile:${s.line}: base ${s.from} has no tag`);
    }
  }
  return problems;
}

/** Packages the programs import must survive `npm ci --omit=dev` and the runner-only prune. */
function dependencyProblems(programs: Map<string, ProgramNeeds>, runnerOnly: string[]): string[] {
  const problems: string[] = [];
  for (const name of runnerOnly) {
    if (!(name in pkg.dependencies)) problems.push(`RUNNER_ONLY_DEPS names ${name}, which is not a production dependency in package.json`);
  }
  for (const [target, n] of programs) {
    for (const [name, file] of n.packages) {
      if (!(name in pkg.dependencies)) problems.push(`${target}: ${file} imports ${name}, which is not a production dependency (npm ci --omit=dev drops it)`);
      else if (runnerOnly.includes(name)) problems.push(`${target}: ${file} imports ${name}, which the image prunes as runner-only (RUNNER_ONLY_DEPS)`);
    }
  }
  return problems;
}

/** Reachable sources reach the build stage; files read at run time sit next to the compiled module. */
function contentProblems(st: Stage[], programs: Map<string, ProgramNeeds>, isIgnored: IgnoreMatcher): string[] {
  const problems: string[] = [];
  const copies = contextCopies(st);
  for (const [target, n] of programs) {
    const entry = traceEntry(st, target);
    const buildStage = entry.stage;
    for (const file of n.files) {
      if (isIgnored(file)) problems.push(`${target}: ${file} is imported but excluded by .dockerignore`);
      else if (!copies.some((c) => c.stage === buildStage && imagePathOf(c, file))) problems.push(`${target}: ${file} is imported but no COPY puts it in the ${buildStage} stage`);
    }
    // tsc emits the module at dist/<path>.js; an asset it loads relative to itself must be there too.
    const dist = entry.script.slice(0, entry.script.length - `${entry.source.replace(/\.ts$/, '.js')}`.length);
    const chain = new Set(stageChain(st, target).map((s) => s.name));
    for (const asset of n.assets) {
      const want = `${dist}${asset}`;
      const placed = copies.some((c) => chain.has(c.stage) && imagePathOf(c, asset) === want);
      if (!placed) problems.push(`${target}: loads ${asset} at run time, but no COPY in its stages puts it at ${want}`);
      if (isIgnored(asset)) problems.push(`${target}: ${asset} is excluded by .dockerignore`);
    }
  }
  return problems;
}

describe('Dockerfile', () => {
  test('has the stages server and client, each ending in its own app', () => {
    const names = stages.map((s) => s.name);
    for (const t of TARGETS) assert.ok(names.includes(t), `no stage ${t} in ${JSON.stringify(names)}`);
    assert.equal(traceEntry(stages, 'server').source, 'apps/server/main.ts');
    assert.equal(traceEntry(stages, 'client').source, 'apps/client/main.ts');
    assert.throws(() => stageChain(edited('FROM runtime AS client', 'FROM runtime AS klient'), 'client'), /no stage named client/);
  });

  test('dockerfile-utils validate() reports nothing', () => {
    assert.deepEqual(validate(text), []);
    const broken = validate(text.replace('COPY lib ./lib', 'copy lib'));
    assert.deepEqual(broken.map((d) => d.message).sort(), ['COPY requires at least two arguments', 'Instructions should be written in uppercase letters']);
  });

  test('every COPY source from the build context exists in the repository and is not ignored', () => {
    assert.ok(contextCopies(stages).length >= 5);
    assert.deepEqual(copySourceProblems(stages, ignored), []);
    assert.match(copySourceProblems(edited('COPY lib ./lib', 'COPY lib shared ./'), ignored).join(), /source shared does not exist/);
    assert.match(copySourceProblems(edited('COPY lib ./lib', 'COPY test ./test'), ignored).join(), /source test is excluded by .dockerignore/);
    // COPY --from=<stage> reads another stage, not the context: never checked against the repo.
    assert.deepEqual(copySourceProblems(edited('COPY --from=build', 'COPY --from=build /nowhere ./dist'), ignored), []);
  });

  test('the final user is not root (numeric, so runAsNonRoot can be checked)', () => {
    for (const t of TARGETS) assert.deepEqual(userProblems(stages, t), []);
    assert.equal(effective(stages, 'server').user?.value, '65532:65532');
    assert.match(userProblems(edited('USER ', 'USER root'), 'server').join(), /runs as USER root/);
    assert.match(userProblems(edited('USER ', 'USER 0:0'), 'client').join(), /runs as USER 0:0/);
    assert.match(userProblems(edited('USER ', 'USER nonroot'), 'client').join(), /not numeric/);
    const rootBase = parseDockerfile(text.replace(/^USER .*$/m, '').replace('gcr.io/distroless/nodejs24-debian12:nonroot', 'node:24.15.0-bookworm-slim'));
    assert.match(userProblems(rootBase, 'server').join(), /no USER, and base node:24.15.0-bookworm-slim runs as root/);
  });

  test('ENTRYPOINT is in exec form', () => {
    for (const t of TARGETS) {
      assert.deepEqual(execFormProblems(stages, t), []);
      assert.equal(effective(stages, t).entrypoint?.json?.[0], '/nodejs/bin/node');
    }
    const shellForm = edited('ENTRYPOINT ["/nodejs/bin/node", "dist/apps/server', 'ENTRYPOINT /nodejs/bin/node dist/apps/server/main.js');
    assert.match(execFormProblems(shellForm, 'server').join(), /shell form/);
  });

  test(`base images are pinned, Node ${IMAGE_NODE_MAJOR} in every stage`, () => {
    assert.deepEqual(baseProblems(stages), []);
    assert.match(baseProblems(edited('FROM node:24.15.0-bookworm-slim AS build', 'FROM node:24-bookworm-slim AS build')).join(), /not pinned/);
    assert.match(baseProblems(edited('FROM node:24.15.0-bookworm-slim AS deps', 'FROM node:20.20.2-bookworm-slim AS deps')).join(), /not pinned to an exact Node 24/);
    assert.match(baseProblems(edited('FROM gcr.io/distroless', 'FROM gcr.io/distroless/nodejs20-debian12:nonroot AS runtime')).join(), /neither node:24 nor distroless nodejs24/);
    // The README names the images' Node to readers of the kind track: keep it the one built.
    const readme = readRepoFile('README.md');
    for (const s of stages.filter((x) => !stages.some((y) => y.name === x.from))) {
      const shown = s.from.startsWith('gcr.io/distroless/') ? s.from.split('/')[2]!.split(':')[0]! : s.from.split('@')[0]!;
      assert.ok(readme.includes(shown), `README.md does not name the base ${shown}`);
    }
  });

  test('every package the apps import is kept in the image; the runner-only ones are not imported', () => {
    const runnerOnly = (argDefault(stages, 'RUNNER_ONLY_DEPS') ?? '').split(/\s+/).filter(Boolean);
    assert.deepEqual(runnerOnly.sort(), ['marked', 'tsx', 'yaml', 'zx']);
    assert.deepEqual(dependencyProblems(needs, runnerOnly), []);
    for (const t of TARGETS) assert.ok(needs.get(t)!.packages.has('@grpc/grpc-js'), `${t} imports @grpc/grpc-js`);
    const withYaml = new Map([...needs].map(([t, n]) => [t, { ...n, packages: new Map([...n.packages, ['yaml', 'lib/topology.ts']]) }]));
    assert.match(dependencyProblems(withYaml, runnerOnly).join(), /imports yaml, which the image prunes as runner-only/);
    const withDev = new Map([...needs].map(([t, n]) => [t, { ...n, packages: new Map([...n.packages, ['ajv', 'apps/x.ts']]) }]));
    assert.match(dependencyProblems(withDev, runnerOnly).join(), /imports ajv, which is not a production dependency/);
  });

  test('every imported source reaches the build stage; the proto sits next to the compiled loader', () => {
    assert.deepEqual(contentProblems(stages, needs, ignored), []);
    for (const t of TARGETS) assert.deepEqual(needs.get(t)!.assets, ['apps/proto/demo/v1/greeter.proto']);
    const noProto = edited('COPY apps/proto/demo/v1/greeter.proto', 'COPY apps/proto/demo/v1/greeter.proto ./dist/');
    assert.match(contentProblems(noProto, needs, ignored).join(), /loads apps\/proto\/demo\/v1\/greeter.proto at run time, but no COPY/);
    const withMesh = new Map([...needs].map(([t, n]) => [t, { ...n, files: [...n.files, 'apps/mesh/forwarder.ts'] }]));
    assert.match(contentProblems(stages, withMesh, ignored).join(), /apps\/mesh\/forwarder.ts is imported but excluded/);
    const noLib = edited('COPY lib ./lib', 'COPY lib/split.ts ./lib/');
    assert.match(contentProblems(noLib, needs, ignored).join(), /lib\/config.ts is imported but no COPY/);
  });
});

describe('.dockerignore', () => {
  test('keeps node_modules, .git, .tutorial and tests out of the build context', () => {
    for (const p of ['node_modules', 'node_modules/yaml/package.json', 'apps/server/node_modules', '.git', '.git/HEAD', '.tutorial/state.json', 'test', 'test/deploy/fit.test.ts', 'apps/server/server.test.ts', 'lib/split.test.ts', 'dist/apps/server/main.js']) {
      assert.ok(ignored(p), `${p} should be excluded`);
    }
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'apps/server/main.ts', 'lib/split.ts', 'apps/proto/demo/v1/greeter.proto']) {
      assert.ok(!ignored(p), `${p} should be in the context`);
    }
    const lax = parseDockerignore(readRepoFile('.dockerignore').replace('**/*.test.ts\n', ''));
    assert.ok(!lax('apps/server/server.test.ts'), 'without its pattern a co-located test would ship');
  });

  test('matching follows Docker: parents, ** across segments, * within one, ! re-includes, last match wins', () => {
    const m = parseDockerignore('# comment\n/docs\n!docs/keep.md\n**/*.log\na/*/c\n');
    assert.ok(m('docs/x.md') && !m('docs/keep.md') && m('docs'));
    assert.ok(m('x.log') && m('deep/er/x.log') && !m('x.logs'));
    assert.ok(m('a/b/c') && m('a/b/c/d') && !m('a/b/b/c'));
    assert.ok(!m('readme.md'));
    assert.throws(() => parseDockerignore('[abc]'), /character classes/);
  });
});
