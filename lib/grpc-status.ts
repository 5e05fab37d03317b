// gRPC status codes by name, the way people read them: OK, UNAVAILABLE, not 0, 14.
import { status } from '@grpc/grpc-js';

/** 0 -> OK, 14 -> UNAVAILABLE; CODE_n for a number grpc-js has no name for. */
export function statusName(code: number): string {
  return status[code] ?? `CODE_${code}`;
}
