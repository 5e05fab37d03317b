// A process's CPU time and resident memory from Linux /proc, for the benches (memory.ts,
// mesh-overhead.ts, run.ts, soak.ts).
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) a process has used so far, or NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks, USER_HZ = 100
  } catch {
    return NaN;
  }
}

/** Resident memory of a process (VmRSS), kB; undefined once it is gone or when it has none. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process (VmRSS), MB; NaN once it is gone or when it has none. */
export function rssMb(pid: number): number {
  const kb = rssKb(pid);
  return kb === undefined ? NaN : kb / 1024;
}
