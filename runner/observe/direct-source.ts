// The direct client's own summary lines, for claims with client=direct (`pinned`). It is not
// the meshed client whose log the traffic source follows. The front matter says, per target,
// where they are: `direct: blocks` when the client runs inside a block, so its lines are what
// the section's blocks print; or a follow command run while the section runs (started again
// until what it follows exists; only windows after the section began count).

import { parseSummaryLine, type Summary } from '../../lib/summary.ts';
import type { RunEvent } from '../events.ts';
import type { TargetConfig } from '../front-matter.ts';
import { followSource, type TrafficSource } from './traffic-source.ts';

export interface DirectFeed extends TrafficSource {
  /** Run events, for a feed that reads what blocks print. */
  listener?: (e: RunEvent) => void;
}

/** Summary lines on the stdout of the blocks that run while the feed is started. */
export function blockOutputFeed(): DirectFeed {
  let on: ((s: Summary) => void) | undefined;
  const partial = new Map<unknown, string>();
  return {
    start(cb) {
      on = cb;
    },
    async stop() {
      on = undefined;
      partial.clear();
    },
    listener(e) {
      if (!on || e.type !== 'block-output' || e.stream !== 'stdout') return;
      const text = (partial.get(e.block) ?? '') + e.chunk.toString('utf8');
      const lines = text.split('\n');
      partial.set(e.block, lines.pop()!);
      for (const l of lines) {
        const s = parseSummaryLine(l);
        if (s) on(s);
      }
    },
  };
}

/** A new feed of the direct client's lines for one section, as `target` declares them (undefined: none). */
export function directFeedFor(target: TargetConfig, cwd: string, env?: NodeJS.ProcessEnv): DirectFeed | undefined {
  if (target.direct === undefined) return undefined;
  if (target.direct === 'blocks') return blockOutputFeed();
  return followSource(target.direct, cwd, env);
}
