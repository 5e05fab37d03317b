// Open-loop pacing: call k is due at start + k/rate, whatever happened to earlier calls, so a
// slow server shows up as latency and skipped calls instead of a lower offered rate (the
// closed-loop trap). Timers fire late and coarsely (>= 1 ms), so each tick fires every call that
// has come due since the last one: the rate holds on average, in small bursts at high rates.

export interface Pacer {
  stop(): void;
  /** Calls fired so far. */
  fired(): number;
}

export function openLoop(rate: number, fire: () => void, now: () => number = () => performance.now()): Pacer {
  const periodMs = 1000 / rate;
  const start = now();
  let fired = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const tick = () => {
    if (stopped) return;
    // The first call is due at once.
    const due = Math.floor((now() - start) / periodMs) + 1;
    while (fired < due && !stopped) {
      fired += 1;
      fire();
    }
    if (stopped) return;
    timer = setTimeout(tick, Math.max(0, start + fired * periodMs - now()));
  };
  tick();

  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    fired: () => fired,
  };
}
