// `npm run client`: the demo client configured by env. Summary lines (lib/summary.ts) on stdout,
// one per INTERVAL_MS; progress notes on stderr. SIGTERM/SIGINT: final summary, exit 0.
// Bad env: one line on stderr, exit 2.
import { readConfigOrExit } from '../../lib/config.ts';
import { formatSummary } from '../../lib/summary.ts';
import { startClient } from './client.ts';
import { readClientConfig } from './config.ts';

const cfg = readConfigOrExit('client', () => readClientConfig(process.env));
const note = (line: string) => process.stderr.write(`client: ${line}\n`);

const client = startClient({
  ...cfg,
  onSummary(summary, { skipped }) {
    process.stdout.write(`${formatSummary(summary, cfg.logFormat)}\n`);
    if (skipped > 0) note(`${skipped} call(s) skipped in that interval: CONCURRENCY=${cfg.concurrency} calls were in flight`);
  },
  onLog: note,
});

let signalled = false;
async function onSignal(): Promise<void> {
  if (signalled) return;
  signalled = true;
  await client.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void onSignal());
process.on('SIGINT', () => void onSignal());
