// Shared by the benches that drive `local-mesh` (run.ts, soak.ts): the server split as a file
// to apply, the client's summaries from its log, and a median.
import { readFileSync } from 'node:fs';
import { parseSummaryLine, type Summary } from '../lib/summary.ts';
import { logPath, type Paths } from '../scripts/local-mesh/state.ts';
import { trafficSplit } from '../test/runner/helpers.ts';

/** The TrafficSplit server-split: server-v1 at weight v1, server-v2 at v2. */
export const splitYaml = (v1: number, v2: number): string => trafficSplit({ v1, v2 });

/** Every summary the client has written to its log so far. */
export function summaries(p: Paths): Summary[] {
  return readFileSync(logPath(p, 'client'), 'utf8').split('\n').map(parseSummaryLine).filter((s): s is Summary => !!s);
}

/** The middle value (the lower of the two middle ones for an even count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
