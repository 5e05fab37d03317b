// The direct client's own summary lines, for claims with client=direct (`pinned`). It is not
// the meshed client whose log the traffic source follows: locally it runs inside a block
// (`node apps/client/main.ts` against the replicas' addresses), so its lines are what the
// section's blocks print; on kind it is the pod client-direct, read with `kubectl logs -f`
// while the section runs (the block deletes the pod at its end; the follower, started again
// until the pod exists, reads its whole log, and only windows after the section began count).

import { parseSummaryLine, type Summary } from '../../lib/summary.ts';
import type { RunEvent } from '../events.ts';
import { commandSource, type TrafficSource } from './traffic-source.ts';

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

/** A new feed of the direct client's lines for one section on `target`. */
export function directFeedForTarget(target: 'local' | 'kind', cwd: string, env?: NodeJS.ProcessEnv): DirectFeed {
  if (target === 'local') return blockOutputFeed();
  return commandSource('kubectl', ['logs', '-f', '-n', 'link', 'pod/client-direct'], { cwd, retryMs: 1000, ...(env ? { env } : {}) });
}
