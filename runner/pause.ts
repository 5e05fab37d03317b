// When to stop before a section, and reading the one key that answers. Prompts only when a
// person can answer: stdin is a TTY and CI is unset. Otherwise, or with --yes, never wait on
// input (a closed stdin must not hang or kill the run).

export type PauseMode = { kind: 'prompt' } | { kind: 'sleep'; seconds: number } | { kind: 'none' };

export function pauseMode(
  options: { yes: boolean; pause?: number },
  stdinIsTTY: boolean,
  env: NodeJS.ProcessEnv,
): PauseMode {
  if (options.pause !== undefined) return { kind: 'sleep', seconds: options.pause };
  if (options.yes || !stdinIsTTY || (env.CI !== undefined && env.CI !== '')) return { kind: 'none' };
  return { kind: 'prompt' };
}

export type KeyAnswer = 'run' | 'skip' | 'quit' | 'interrupt';

/** Map a keypress to an answer; null means "not an answer, keep waiting". */
export function answerFor(key: string): KeyAnswer | null {
  if (key === '\r' || key === '\n' || key === '\r\n') return 'run';
  const k = key.toLowerCase();
  if (k === 's') return 'skip';
  if (k === 'q' || key === '\x04') return 'quit';
  // In raw mode Ctrl-C is a byte, not a signal.
  if (key === '\x03') return 'interrupt';
  return null;
}

/** Wait for one answering key on a TTY stdin. Resolves null if the signal aborts first. */
export function readAnswer(stdin: NodeJS.ReadStream, signal: AbortSignal): Promise<KeyAnswer | null> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(null);
    const raw = typeof stdin.setRawMode === 'function';
    const finish = (answer: KeyAnswer | null) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      resolve(answer);
    };
    const onData = (data: Buffer) => {
      const answer = answerFor(data.toString('utf8'));
      if (answer) finish(answer);
    };
    const onEnd = () => finish('quit');
    const onAbort = () => finish(null);
    if (raw) stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    signal.addEventListener('abort', onAbort, { once: true });
    stdin.resume();
  });
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
