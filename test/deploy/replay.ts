// Builds the Dockerfile's stages as plain directories, without a Docker engine, so the images'
// contents can be run: the build context is the repository minus .dockerignore, each stage is
// a directory standing for its root filesystem, COPY and WORKDIR are done as Docker does them,
// and RUN lines are replayed through a fixed table of stand-ins (npm ci cannot download here).
// A RUN line the table does not know fails the replay, so the Dockerfile cannot drift from it.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { argDefault, type Stage } from './dockerfile.ts';
import type { IgnoreMatcher } from './dockerignore.ts';

export interface Replay {
  /** Stage name -> the directory standing for its root filesystem. */
  roots: Map<string, string>;
  context: string;
}

/** Copy the repository into `dest`, leaving out what .dockerignore excludes. */
function buildContext(repo: string, dest: string, ignored: IgnoreMatcher): void {
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(repo, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (ignored(path)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) cpSync(join(repo, path), join(dest, path));
    }
  };
  mkdirSync(dest, { recursive: true });
  walk('');
}

/** node_modules as a farm of links to the repository's installed packages. */
function linkPackages(repo: string, dir: string, names: string[]): void {
  for (const name of names) {
    const link = join(dir, 'node_modules', name);
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(join(repo, 'node_modules', name), link);
  }
}

interface RunContext {
  repo: string;
  stages: Stage[];
  /** Absolute directory of the stage's WORKDIR on this machine. */
  cwd: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

/** The stand-ins: how each RUN line of our Dockerfile is done here. */
const RUN_STANDINS: { match: RegExp; run: (c: RunContext, command: string) => void }[] = [
  {
    // npm ci with every dependency (the build stage): the repository's own install.
    match: /^npm ci --ignore-scripts --no-audit --no-fund$/,
    run: (c) => symlinkSync(join(c.repo, 'node_modules'), join(c.cwd, 'node_modules')),
  },
  {
    // npm ci --omit=dev, then drop RUNNER_ONLY_DEPS and prune: what survives is the production
    // dependencies minus those (their own dependencies resolve through the links).
    match: /^npm ci --omit=dev .*&& npm pkg delete \$\(printf 'dependencies\.%s ' \$RUNNER_ONLY_DEPS\) && npm prune --omit=dev /,
    run: (c) => {
      const runnerOnly = (argDefault(c.stages, 'RUNNER_ONLY_DEPS') ?? '').split(/\s+/).filter(Boolean);
      linkPackages(c.repo, c.cwd, Object.keys(c.dependencies).filter((d) => !runnerOnly.includes(d)));
    },
  },
  {
    // The compile runs for real.
    match: /^npx tsc -p tsconfig\.build\.json$/,
    run: (c, command) => {
      const r = spawnSync('sh', ['-c', command], { cwd: c.cwd, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`RUN ${command} failed (${r.status}):\n${r.stdout}${r.stderr}`);
    },
  },
];

/** Build every named stage of `stages` under `dir`. */
export function replay(repo: string, stages: Stage[], ignored: IgnoreMatcher, dir: string, pkg: Pick<RunContext, 'dependencies' | 'devDependencies'>): Replay {
  const context = join(dir, 'context');
  buildContext(repo, context, ignored);
  const roots = new Map<string, string>();
  stages.forEach((stage, i) => {
    const root = join(dir, 'stages', stage.name ?? String(i));
    const parent = roots.get(stage.from);
    if (parent) cpSync(parent, root, { recursive: true, verbatimSymlinks: true });
    else mkdirSync(root, { recursive: true });
    let workdir = '/';
    const at = (p: string) => join(root, p);
    for (const step of stage.steps) {
      const words = step.json ?? step.args;
      switch (step.keyword) {
        case 'WORKDIR':
          workdir = posix.resolve(workdir, words[0]!);
          mkdirSync(at(workdir), { recursive: true });
          break;
        case 'COPY': {
          const from = step.flags.from;
          const srcRoot = from ? roots.get(from) : context;
          if (!srcRoot) throw new Error(`Dockerfile:${step.line}: COPY --from=${from}: no such stage built yet`);
          const sources = words.slice(0, -1);
          const destWord = words.at(-1)!;
          const dest = posix.resolve(workdir, destWord);
          const intoDir = destWord.endsWith('/') || sources.length > 1;
          for (const s of sources) {
            const src = join(srcRoot, from ? posix.resolve('/', s) : s);
            const isDir = statSync(src).isDirectory();
            const target = isDir || !intoDir ? at(dest) : at(posix.join(dest, posix.basename(s)));
            mkdirSync(join(target, isDir ? '' : '..'), { recursive: true });
            cpSync(src, target, { recursive: true, verbatimSymlinks: true });
          }
          break;
        }
        case 'RUN': {
          const command = step.args.join(' ');
          const standin = RUN_STANDINS.find((s) => s.match.test(command));
          if (!standin) throw new Error(`Dockerfile:${step.line}: RUN ${command}: the replay has no stand-in for this command; add one to test/deploy/replay.ts`);
          standin.run({ repo, stages, cwd: at(workdir), ...pkg }, command);
          break;
        }
        case 'ADD':
          throw new Error(`Dockerfile:${step.line}: ADD is not replayed; use COPY`);
        default:
          break; // ENV, ARG, USER, EXPOSE, ENTRYPOINT, CMD change no files
      }
    }
    if (stage.name) roots.set(stage.name, root);
  });
  return { roots, context };
}

/** ENV values a target's chain sets (literal values only). */
export function stageEnv(chain: Stage[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const stage of chain) {
    for (const step of stage.steps) {
      if (step.keyword !== 'ENV') continue;
      for (const word of step.args) {
        const eq = word.indexOf('=');
        if (eq > 0) env[word.slice(0, eq)] = word.slice(eq + 1);
      }
    }
  }
  return env;
}
