// The terminal's live region: lines kept at the bottom of a TTY (the traffic view), redrawn
// below whatever else is written, and the pause prompt kept last, under it. Everything the
// UI writes to stdout goes through here, so the region knows where the cursor is. Without
// `live` (pipes, CI) there is no region, and writes go straight through.
//
// Hand-written cursor codes, not log-update: log-update's frame always ends with a newline
// and counts only its own lines, so a prompt whose answer the terminal echoes on its line
// (and whose Enter moves the cursor) can be neither its last line nor below it.

export interface RegionOutput {
  write(s: string | Buffer): unknown;
}

export interface LiveRegion {
  /** Foreground text: above the region, which is drawn again once a line ends. */
  write(text: string): void;
  /** `text` on a line of its own. */
  line(text?: string): void;
  /** The region's lines from now on (drawn at once unless a line is half written). */
  show(lines: string[]): void;
  /** Erase the region and forget it (the run ended). */
  drop(): void;
  /** Before writing to another stream that is the same terminal: erase the region. */
  erase(): void;
  /** Another stream ended (or not) a line on the same terminal. */
  movedTo(where: { lineStart: boolean }): void;
  /** Under a shown prompt: `text` above the region, the prompt again last. */
  aboveThePrompt(text: string): void;
  prompt(): void;
  promptDone(answer: string): void;
  readonly promptShown: boolean;
  readonly atLineStart: boolean;
}

export function createLiveRegion(out: RegionOutput, options: { live: boolean; prompt: string }): LiveRegion {
  const { live, prompt: PROMPT } = options;
  let promptShown = false;
  // Whether the last foreground output ended a line, so background lines start on their own.
  let atLineStart = true;
  let region: string[] = [];
  let regionDrawn = 0;

  const eraseRegion = () => {
    if (regionDrawn === 0) return;
    out.write(`${promptShown ? '\r\x1b[2K' : ''}\x1b[${regionDrawn}F\x1b[0J`);
    regionDrawn = 0;
  };
  const drawRegion = ({ atStartOfLine }: { atStartOfLine: boolean } = { atStartOfLine: atLineStart }) => {
    if (!live || region.length === 0 || regionDrawn > 0 || !atStartOfLine) return;
    out.write(`${region.join('\n')}\n`);
    regionDrawn = region.length;
  };
  const aboveThePrompt = (text: string) => {
    if (regionDrawn > 0) eraseRegion();
    else out.write('\r\x1b[2K');
    out.write(text);
    drawRegion({ atStartOfLine: true });
    out.write(PROMPT);
  };
  const write = (text: string) => {
    eraseRegion();
    out.write(text);
    if (text.length > 0) atLineStart = text.endsWith('\n');
    drawRegion();
  };

  return {
    write,
    line(text = '') {
      if (!atLineStart) write('\n');
      write(`${text}\n`);
    },
    show(lines) {
      region = lines;
      if (promptShown) return aboveThePrompt('');
      if (regionDrawn === 0 && !atLineStart) return; // drawn once the current line ends
      eraseRegion();
      drawRegion();
    },
    drop() {
      eraseRegion();
      region = [];
    },
    erase: eraseRegion,
    movedTo({ lineStart }) {
      atLineStart = lineStart;
    },
    aboveThePrompt,
    prompt() {
      if (!atLineStart) write('\n');
      drawRegion();
      promptShown = true;
      out.write(PROMPT);
      atLineStart = false;
    },
    promptDone(answer) {
      if (regionDrawn > 0) {
        // Put the answered prompt above the view, where the next output continues.
        eraseRegion();
        promptShown = false;
        write(`${PROMPT}${answer}\n`);
        return;
      }
      promptShown = false;
      write(`${answer}\n`);
    },
    get promptShown() {
      return promptShown;
    },
    get atLineStart() {
      return atLineStart;
    },
  };
}
