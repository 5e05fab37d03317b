// The kind traffic source across a client restart. On a cluster, `kubectl logs -f
// deploy/client` ends when the pod it follows goes (the hand-over to the GRPCRoute restarts the
// client), and a new start follows the Deployment's new pod after replaying the tail of the log.
// Here a stand-in kubectl on PATH plays that: the first start prints the old pod's summaries and
// ends, the second replays the old pod's tail (its container has exited) and ends, the third
// follows the new pod until stopped. The source must deliver every summary once, in order, and
// keep following the new pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSummary, type Summary } from '../../lib/summary.ts';
import { readDocument } from '../../runner/document.ts';
import { followSource } from '../../runner/observe/traffic-source.ts';

const summary = (pod: string, second: number) =>
  `[pod/${pod}/client] ` +
  formatSummary(
    { ts: `2026-12-01T10:00:${String(second).padStart(2, '0')}.000Z`, intervalMs: 1000, total: 20, ok: 20, errors: {}, byVersion: { v2: 20 }, byPod: { [`server-v2-${pod}`]: 20 }, latencyMs: { p50: 1, p99: 2 } },
    'text',
  );

const FAKE_KUBECTL = `#!/usr/bin/env bash
# Stands in for kubectl logs -f: start N prints $DIR/attach-N (the last one: then stays, as a
# follower of a running pod does); every start's arguments go to $DIR/calls.
n=$(( $(cat "$DIR/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$DIR/count"
echo "$*" >> "$DIR/calls"
f="$DIR/attach-$n"
[ -f "$f" ] || f="$DIR/attach-last"
cat "$f"
[ "$f" = "$DIR/attach-last" ] && exec sleep 600
exit 0
`;

test('kind: the traffic source follows the new client pod after a restart, each summary once', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'traffic-follow-'));
  const source = (() => {
    writeFileSync(join(dir, 'kubectl'), FAKE_KUBECTL);
    chmodSync(join(dir, 'kubectl'), 0o755);
    const old = [1, 2, 3].map((s) => summary('client-old', s));
    writeFileSync(join(dir, 'attach-1'), old.join('\n') + '\n');
    writeFileSync(join(dir, 'attach-2'), [...old.slice(1), summary('client-old', 4) + ' final'].join('\n') + '\n');
    // The new pod's log, from its start: one window overlaps the old pod's last one.
    writeFileSync(join(dir, 'attach-last'), [4, 5, 6].map((s) => summary('client-new', s)).join('\n') + '\n');
    // What tutorial.md's front matter says the kind target follows.
    const kind = readDocument(join(import.meta.dirname, '..', '..', 'tutorial.md')).config.targets.find((t) => t.name === 'kind')!;
    return followSource(kind.traffic!, dir, { ...process.env, PATH: `${dir}:${process.env.PATH}`, DIR: dir });
  })();
  try {
    const seen: Summary[] = [];
    const sixth = new Promise<void>((resolve) =>
      source.start((s) => {
        seen.push(s);
        if (s.ts.endsWith(':06.000Z')) resolve();
      }),
    );
    await sixth;
    const got = seen.map((s) => `${s.ts.slice(17, 19)} ${Object.keys(s.byPod)[0]}${s.final ? ' final' : ''}`);
    assert.deepEqual(got, ['01 server-v2-client-old', '02 server-v2-client-old', '03 server-v2-client-old', '04 server-v2-client-old final', '05 server-v2-client-new', '06 server-v2-client-new']);
    const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
    assert.equal(calls.length, 3, 'started once per stream end');
    for (const c of calls) assert.equal(c, 'logs -f -n link deploy/client -c client --tail=20', 'follows the Deployment, not one pod');
  } finally {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
