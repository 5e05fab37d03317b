// The barest gRPC forwarder Node's http2 allows, as a floor for the proxy's cost per call:
// every call to one upstream, headers, messages and trailers handed on, nothing else (no
// routing, balancing, retries, limits, metrics or deadlines). Not a proxy anyone should run:
// `node --import tsx bench/mesh-overhead.ts --proxy bare` puts it where the mesh proxy goes.
//
//   node bench/bare-forwarder.mjs HOST:PORT     (listens on 127.0.0.1, a free port)
//
// Plain JavaScript so that it runs the same compiled or not.

import http2 from 'node:http2';

const upstream = process.argv[2];
if (!upstream) {
  console.error('usage: node bench/bare-forwarder.mjs HOST:PORT');
  process.exit(2);
}
const session = http2.connect(`http://${upstream}`);
session.on('error', (e) => {
  console.error(`upstream ${upstream}: ${e.message}`);
  process.exit(1);
});

const server = http2.createServer();
server.on('stream', (down, headers) => {
  const up = session.request(headers);
  let trailers = {};
  down.on('error', () => {});
  up.on('error', () => {});
  down.on('data', (c) => up.write(c));
  down.on('end', () => up.end());
  up.on('response', (h) => down.respond(h, { waitForTrailers: true }));
  up.on('data', (c) => down.write(c));
  up.on('end', () => down.end());
  up.on('trailers', (t) => {
    trailers = t;
  });
  down.on('wantTrailers', () => down.sendTrailers(trailers));
});
server.listen(0, '127.0.0.1', () => {
  // The mesh proxy's readiness line (lib/readiness.ts), with no admin port of its own.
  console.log(`mesh listening on 127.0.0.1:${server.address().port} admin 127.0.0.1:0`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
