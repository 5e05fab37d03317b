// The gRPC target an unmeshed client dials on the local track: every replica's address, in a
// random order. The client's pick_first connects to the first it can reach, so each start lands
// on a replica chosen at random, as kube-proxy picks a pod at random for a new connection. In a
// fixed order every start would pin to the same replica, and "it may well be a v2 pod" would
// never be true here.

/** `ipv4:A,B,C` over the addresses (host:port), shuffled (Fisher-Yates). */
export function directTarget(addresses: readonly string[], random: () => number = Math.random): string {
  const list = [...addresses];
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return `ipv4:${list.join(',')}`;
}
