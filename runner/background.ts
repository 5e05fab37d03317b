// Background blocks: started, left running, stopped (whole process group) when the run ends.
// Their output goes to <doc dir>/.tutorial/<name>.log and, line by line, to a listener;
// `ready` holds the run until a line matches.

import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Block } from './document.ts';
import { spawnBlock, type BlockResult, type ShellSession } from './shell.ts';

/** Where background blocks' logs go, next to the document. */
const LOG_DIR = '.tutorial';

export interface BackgroundJob {
  name: string;
  block: Block;
  pid: number;
  log: string;
  /** Resolves when the ready pattern matched (at once without one); rejects with ReadyError. */
  ready: Promise<void>;
  /** Settles when the process group's leader has exited. */
  exited: Promise<BlockResult>;
  stop(): Promise<BlockResult>;
}

export class ReadyError extends Error {
  override name = 'ReadyError';
}

export interface BackgroundOptions {
  readyTimeoutMs: number;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
}

/** The git-ignored folder for logs, next to the document (made, with its .gitignore, on first use). */
function logDir(docDir: string): string {
  const dir = path.join(docDir, LOG_DIR);
  mkdirSync(dir, { recursive: true });
  // Ignored wherever the document lives, not only in this repository.
  writeFileSync(path.join(dir, '.gitignore'), '*\n');
  return dir;
}

export async function startBackground(session: ShellSession, block: Block, options: BackgroundOptions): Promise<BackgroundJob> {
  const name = block.name!;
  const log = path.join(logDir(session.docDir), `${name}.log`);
  const fd = openSync(log, 'w');
  const pattern = block.attrs.ready !== undefined ? new RegExp(block.attrs.ready) : null;

  let markReady!: () => void;
  let failReady!: (e: Error) => void;
  let isReady = pattern === null;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  if (isReady) markReady();

  const lineSplitter = (stream: 'stdout' | 'stderr') => {
    let partial = '';
    const emit = (line: string) => {
      options.onLine(stream, line);
      if (!isReady && pattern!.test(line)) {
        isReady = true;
        markReady();
      }
    };
    return {
      write(chunk: Buffer) {
        writeSync(fd, chunk);
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop()!;
        for (const l of parts) emit(l);
      },
      flush() {
        if (partial !== '') emit(partial);
        partial = '';
      },
    };
  };
  const out = lineSplitter('stdout');
  const err = lineSplitter('stderr');

  const handle = spawnBlock(session, {
    text: block.text,
    label: name,
    onStdout: (c) => out.write(c),
    onStderr: (c) => err.write(c),
  });

  const exited = handle.done.then((result) => {
    out.flush();
    err.flush();
    closeSync(fd);
    if (!isReady) {
      const how = result.signal ? `was stopped by ${result.signal}` : `exited with code ${result.code}`;
      failReady(new ReadyError(`${name} ${how} before its output matched /${pattern!.source}/ (log: ${log})`));
    }
    return result;
  });

  if (!isReady) {
    const timer = setTimeout(() => {
      if (isReady) return;
      failReady(
        new ReadyError(`${name}: no output line matched /${pattern!.source}/ within ${options.readyTimeoutMs / 1000}s (log: ${log})`),
      );
    }, options.readyTimeoutMs);
    const clear = () => clearTimeout(timer);
    ready.then(clear, clear);
    exited.then(clear, clear);
  }
  // Nobody may be awaiting `ready` when it fails (e.g. the run was interrupted first).
  ready.catch(() => {});

  return {
    name,
    block,
    pid: handle.pid,
    log,
    ready,
    exited,
    stop() {
      handle.stop();
      return exited;
    },
  };
}
