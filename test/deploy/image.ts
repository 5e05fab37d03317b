// Links the Dockerfile to the repository: which tags the documented build commands give, and
// which TypeScript source each image's ENTRYPOINT runs once compiled (following the runtime
// stage's COPY --from=build, tsconfig.build.json's outDir and the build stage's COPYs back to
// the build context).
import { readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { buildCommands, contextCopies, effective, stageChain, type BuildCommand, type Stage } from './dockerfile.ts';
import { REPO } from './load.ts';

export const DOCKERFILE = 'Dockerfile';
export const TARGETS = ['server', 'client'] as const;

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO, path), 'utf8');
}

export function exists(path: string): boolean {
  try {
    statSync(join(REPO, path));
    return true;
  } catch {
    return false;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(join(REPO, path)).isDirectory();
  } catch {
    return false;
  }
}

/** Build commands documented in the Dockerfile and in the top-level Markdown that exists. */
export function documentedBuilds(): BuildCommand[] {
  const sources = [DOCKERFILE, 'README.md', 'tutorial.md'].filter(exists);
  return sources.flatMap((f) => buildCommands(readRepoFile(f), f));
}

/** The build context path whose copy lands at `imagePath` in `stage`, or null. */
function contextSourceOf(stages: Stage[], stage: string, imagePath: string): string | null {
  for (const copy of contextCopies(stages).filter((c) => c.stage === stage)) {
    for (const raw of copy.sources) {
      const source = posix.normalize(raw).replace(/\/$/, '');
      if (isDir(source)) {
        const dest = copy.dest.replace(/\/$/, '');
        if (imagePath.startsWith(`${dest}/`)) return posix.join(source, posix.relative(dest, imagePath));
      } else {
        const landing = copy.dest.endsWith('/') || copy.sources.length > 1 ? posix.join(copy.dest, posix.basename(source)) : copy.dest;
        if (landing === imagePath) return source;
      }
    }
  }
  return null;
}

export interface EntryTrace {
  /** The script node runs, absolute in the image. */
  script: string;
  /** The stage that compiled it, and the compiled file's path there. */
  stage: string;
  built: string;
  /** The TypeScript source in the repository it is compiled from. */
  source: string;
}

/** Follow a target's ENTRYPOINT script back to its TypeScript source; throws with the broken link. */
export function traceEntry(stages: Stage[], target: string): EntryTrace {
  const eff = effective(stages, target);
  const argv = eff.entrypoint?.json ?? [];
  const scriptArg = argv.find((a) => a.endsWith('.js'));
  if (!scriptArg) throw new Error(`${target}: ENTRYPOINT ${JSON.stringify(argv)} names no .js script`);
  const script = posix.resolve(eff.workdir, scriptArg);

  // Which COPY --from=<stage> in the target's chain put that script there?
  for (const stage of stageChain(stages, target)) {
    let workdir = '/';
    for (const step of stage.steps) {
      if (step.keyword === 'WORKDIR') workdir = posix.resolve(workdir, step.args[0] ?? '.');
      const from = step.flags.from;
      if (step.keyword !== 'COPY' || !from) continue;
      // COPY --from sources are paths from the other stage's root.
      const [src, dest] = [posix.resolve('/', step.args[0]!), posix.resolve(workdir, step.args.at(-1)!)];
      if (!script.startsWith(`${dest}/`)) continue;
      const built = posix.join(src, posix.relative(dest, script));
      const source = compiledFrom(stages, from, built);
      return { script, stage: from, built, source };
    }
  }
  throw new Error(`${target}: no COPY --from=<stage> in its chain puts ${script} in the image`);
}

/** The repository source tsc compiles to `built` in stage `stage` (tsconfig.build.json rules). */
function compiledFrom(stages: Stage[], stage: string, built: string): string {
  const tsconfig = JSON.parse(readRepoFile('tsconfig.build.json')) as { compilerOptions?: { outDir?: string; rootDir?: string } };
  const { outDir = '.', rootDir = '.' } = tsconfig.compilerOptions ?? {};
  const workdir = effectiveWorkdir(stages, stage);
  const out = posix.resolve(workdir, outDir);
  if (!built.startsWith(`${out}/`)) throw new Error(`${built} is not under the build stage's outDir ${out}`);
  const inBuild = posix.join(posix.resolve(workdir, rootDir), posix.relative(out, built)).replace(/\.js$/, '.ts');
  const source = contextSourceOf(stages, stage, inBuild);
  if (!source) throw new Error(`no COPY in stage ${stage} puts ${inBuild} (compiled to ${built}) there from the build context`);
  return source;
}

function effectiveWorkdir(stages: Stage[], stage: string): string {
  return effective(stages, stage).workdir;
}
