// Failed calls by gRPC status as the runner's lines show them. The client's own summary line
// (lib/summary.ts) writes them without the space; that format is a contract, this one is not.

/** `UNAVAILABLE=2, DEADLINE_EXCEEDED=1`, in the order the record holds them. */
export function errorList(errors: Record<string, number>): string {
  return Object.entries(errors)
    .map(([code, n]) => `${code}=${n}`)
    .join(', ');
}
