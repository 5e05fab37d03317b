// The Dockerfile as plain data (stages of steps, parsed by dockerfile-ast) and the questions the
// tests ask of it: which stage chain builds a target, what user and entrypoint it ends with,
// what it copies from the build context, which build commands it documents.
import { posix } from 'node:path';
import { Arg, DockerfileParser, From, JSONInstruction, ModifiableInstruction } from 'dockerfile-ast';

export interface Step {
  keyword: string;
  /** 1-based line of the instruction. */
  line: number;
  /** Arguments without flags, as written (shell words). */
  args: string[];
  /** --name=value flags (COPY --from, ...). */
  flags: Record<string, string | null>;
  /** The exec-form list when the arguments are a JSON array, else null. */
  json: string[] | null;
  /** ARG: name and default value. */
  arg?: { name: string; value: string | null };
}

export interface Stage {
  /** `AS name`, or null for an unnamed stage. */
  name: string | null;
  line: number;
  /** The FROM image, which may be an earlier stage's name. */
  from: string;
  steps: Step[];
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const ins of DockerfileParser.parse(text).getInstructions()) {
    const line = ins.getRange().start.line + 1;
    if (ins instanceof From) {
      stages.push({ name: ins.getBuildStage(), line, from: ins.getImage() ?? '', steps: [] });
      continue;
    }
    const step: Step = {
      keyword: ins.getKeyword(),
      line,
      args: ins.getArguments().map((a) => a.getValue()),
      flags: {},
      json: null,
    };
    if (ins instanceof ModifiableInstruction) {
      for (const f of ins.getFlags()) step.flags[f.getName()] = f.getValue();
    }
    if (ins instanceof JSONInstruction && ins.getOpeningBracket() && ins.getClosingBracket()) {
      step.json = ins.getJSONStrings().map((s) => s.getJSONValue());
    }
    if (ins instanceof Arg) {
      const p = ins.getProperty();
      if (p) step.arg = { name: p.getName(), value: p.getValue() };
    }
    const current = stages.at(-1);
    if (current) current.steps.push(step);
  }
  return stages;
}

/** The stages that make up `target`, base first (FROM <earlier stage> is followed). */
export function stageChain(stages: Stage[], target: string): Stage[] {
  const chain: Stage[] = [];
  let name: string | null = target;
  while (name !== null) {
    const idx: number = stages.findIndex((s) => s.name === name);
    if (idx < 0) break;
    const stage: Stage = stages[idx]!;
    chain.unshift(stage);
    // A FROM may only name a stage defined before it; anything else is an image.
    name = stages.slice(0, idx).some((s) => s.name === stage.from) ? stage.from : null;
  }
  if (chain.length === 0) throw new Error(`Dockerfile has no stage named ${target}`);
  return chain;
}

/** The external image a target finally rests on. */
export function baseImage(stages: Stage[], target: string): string {
  return stageChain(stages, target)[0]!.from;
}

export interface Effective {
  user: { value: string; line: number } | null;
  workdir: string;
  entrypoint: Step | null;
  cmd: Step | null;
}

/** What the image built from `target` runs with: last USER, WORKDIR, ENTRYPOINT, CMD. */
export function effective(stages: Stage[], target: string): Effective {
  const out: Effective = { user: null, workdir: '/', entrypoint: null, cmd: null };
  for (const stage of stageChain(stages, target)) {
    for (const step of stage.steps) {
      if (step.keyword === 'USER') out.user = { value: step.args.join(' '), line: step.line };
      if (step.keyword === 'WORKDIR') out.workdir = posix.resolve(out.workdir, step.args[0] ?? '.');
      if (step.keyword === 'CMD') out.cmd = step;
      if (step.keyword === 'ENTRYPOINT') {
        out.entrypoint = step;
        out.cmd = null; // Docker resets an inherited CMD when ENTRYPOINT is set
      }
    }
  }
  return out;
}

export interface ContextCopy {
  stage: string | null;
  line: number;
  keyword: string;
  sources: string[];
  /** Absolute destination inside the image. */
  dest: string;
}

/** Every COPY/ADD whose sources come from the build context (not --from another stage). */
export function contextCopies(stages: Stage[]): ContextCopy[] {
  const out: ContextCopy[] = [];
  for (const stage of stages) {
    let workdir = '/';
    for (const step of stage.steps) {
      if (step.keyword === 'WORKDIR') workdir = posix.resolve(workdir, step.args[0] ?? '.');
      if (step.keyword !== 'COPY' && step.keyword !== 'ADD') continue;
      if (step.flags.from !== undefined) continue;
      const words = step.json ?? step.args;
      const sources = words.slice(0, -1);
      const destWord = words.at(-1) ?? '';
      const dest = posix.resolve(workdir, destWord) + (destWord.endsWith('/') ? '/' : '');
      out.push({ stage: stage.name, line: step.line, keyword: step.keyword, sources, dest });
    }
  }
  return out;
}

/**
 * Where a context file lands in the image through `copy`, or null if the copy does not take it.
 * A directory source copies its contents; a file goes into a directory destination by name.
 */
export function imagePathOf(copy: ContextCopy, file: string): string | null {
  for (const raw of copy.sources) {
    const source = posix.normalize(raw).replace(/\/$/, '');
    if (file === source) {
      return copy.dest.endsWith('/') || copy.sources.length > 1 ? posix.join(copy.dest, posix.basename(source)) : copy.dest;
    }
    if (source === '.' || file.startsWith(`${source}/`)) return posix.join(copy.dest, posix.relative(source, file));
  }
  return null;
}

/** Default value of ARG `name` in any stage, or null. */
export function argDefault(stages: Stage[], name: string): string | null {
  for (const stage of stages) {
    for (const step of stage.steps) if (step.arg?.name === name) return step.arg.value;
  }
  return null;
}

export interface BuildCommand {
  tag: string;
  target: string;
  /** Where the command was found, for messages. */
  at: string;
}

/** `docker build -t TAG --target TARGET ...` commands written anywhere in `text`. */
export function buildCommands(text: string, at: string): BuildCommand[] {
  const out: BuildCommand[] = [];
  text.split('\n').forEach((line, i) => {
    if (!/\bdocker (?:image )?build\b/.test(line)) return;
    const tag = /(?:-t|--tag)[ =](\S+)/.exec(line)?.[1];
    const target = /--target[ =](\S+)/.exec(line)?.[1];
    if (tag && target) out.push({ tag, target, at: `${at}:${i + 1}` });
  });
  return out;
}

/** Is this USER value (user[:group]) a non-root user? Numeric uids are what the kubelet can check. */
export function isNonRootUser(value: string): boolean {
  const user = value.split(':')[0]!.trim();
  if (/^\d+$/.test(user)) return Number(user) !== 0;
  return user !== '' && user !== 'root';
}
