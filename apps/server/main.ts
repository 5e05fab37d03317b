// `npm run server`: the demo server configured by env. One start-up line on stdout:
//   server v1 pod <pod> listening on <host>:<port> (...)
// SIGTERM/SIGINT: drain within GRACE_MS and exit 0. Bad env: one line on stderr, exit 2.
import * as grpc from '@grpc/grpc-js';
import { readConfigOrExit } from '../../lib/config.ts';
import { serverListening } from '../../lib/readiness.ts';
import { readServerConfig } from './config.ts';
import { startServer, type RunningServer } from './server.ts';

const opts = readConfigOrExit('server', () => readServerConfig(process.env));

const log = (line: string) => process.stdout.write(`${line}\n`);

function faultNote(): string {
  const parts: string[] = [];
  if (opts.latencyMs) parts.push(`latency +${opts.latencyMs}ms`);
  if (opts.errorRate) parts.push(`${opts.errorRate * 100}% ${opts.errorCode}`);
  return parts.length ? `faults: ${parts.join(', ')}` : 'no faults';
}

// grpc-js logs its own line when binding fails; ours says the same with the address, so mute it
// for the bind alone (unless GRPC_VERBOSITY asks for its logs).
const muteBind = !process.env.GRPC_VERBOSITY;
if (muteBind) grpc.setLogVerbosity(grpc.logVerbosity.NONE);
let running: RunningServer;
try {
  running = await startServer(opts);
  if (muteBind) grpc.setLogVerbosity(grpc.logVerbosity.ERROR);
} catch (err) {
  process.stderr.write(`server: cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}\n`);
  process.exit(1);
}

const age = opts.maxConnectionAgeMs ? `, max connection age ${opts.maxConnectionAgeMs}ms` : '';
log(`server ${opts.version} pod ${opts.pod} ${serverListening(running.address)} (health, reflection; ${faultNote()}${age})`);

let signals = 0;
async function onSignal(sig: NodeJS.Signals): Promise<void> {
  signals += 1;
  if (signals > 1) return; // the grace bounds the drain; a second signal changes nothing
  log(`server: ${sig}, NOT_SERVING, draining ${running.inFlight()} call(s) in flight, grace ${opts.graceMs}ms`);
  const report = await running.shutdown();
  log(`server: stopped, ${report.inFlight - report.cutOff} call(s) finished, ${report.cutOff} cut off`);
  process.exit(0);
}
process.on('SIGTERM', (s) => void onSignal(s));
process.on('SIGINT', (s) => void onSignal(s));
