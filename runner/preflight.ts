// Before anything runs: the programs this run will call that are not on PATH, each named in
// one line with how to get it. Better than a block failing with 127 minutes in, or, for
// kubectl on kind, the traffic follower retrying in silence until a check says "no traffic
// observed". Only programs a reader installs beforehand are looked for (the blocks install
// the rest, e.g. the linkerd CLI); scripts/check-prereqs.sh checks them in depth.

import { which } from 'zx/core';
import type { Plan } from './plan.ts';

const HOW_TO_GET: Record<string, string> = {
  bash: 'install bash with your package manager (Debian/Ubuntu: apt-get install bash; macOS: brew install bash)',
  timeout: 'install GNU coreutils (macOS: brew install coreutils, then put its gnubin folder on PATH)',
  kubectl: "install kubectl within one minor of the cluster's Kubernetes (the document's prerequisites say which): https://kubernetes.io/docs/tasks/tools/",
  kind: "install kind at the release the document's prerequisites name: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
  docker: 'install Docker Engine (or Docker Desktop): https://docs.docker.com/engine/install/',
  curl: 'install curl with your package manager',
};

/** `NAME` where a shell would run it: at the start of a line or after | & ; ( $( and the like. */
function calls(text: string, name: string): boolean {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  return new RegExp(`(?:^|[|&;(]|\\$\\(|\\b(?:then|do|else|time|exec|!)\\s)\\s*${name}(?=\\s|$|\\))`, 'm').test(lines.join('\n'));
}

/**
 * One line per missing program: what is missing, why this run needs it, how to get it.
 * `onPath` is the lookup (zx's which by default; tests pass their own).
 */
export function missingPrograms(
  plan: Plan,
  /** `follows`: the commands the traffic checks follow on this target (front matter). */
  options: { verify: boolean; follows: readonly string[] },
  onPath: (name: string) => boolean = (n) => which.sync(n, { nothrow: true }) !== null,
): string[] {
  const why = new Map<string, string>();
  const need = (name: string, reason: string) => {
    if (!why.has(name)) why.set(name, reason);
  };
  need('bash', 'the runner runs every block with it');
  // A follower that cannot start would retry in silence until a check says "no traffic".
  if (options.verify) {
    for (const follow of options.follows) for (const name of Object.keys(HOW_TO_GET)) if (calls(follow, name)) need(name, `the traffic checks follow the client with: ${follow}`);
  }
  for (const { steps } of plan.sections) {
    for (const step of steps) {
      if (step.action !== 'run' && step.action !== 'background') continue;
      for (const name of Object.keys(HOW_TO_GET)) if (calls(step.block.text, name)) need(name, `${plan.document.file}:${step.block.line} calls it`);
    }
  }
  return [...why].filter(([name]) => !onPath(name)).map(([name, reason]) => `${name} not found on PATH (${reason}): ${HOW_TO_GET[name]}`);
}
