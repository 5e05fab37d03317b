// What a terminal shows after some output: a small screen model, so the UI tests check the
// lines a reader sees (and where the cursor is) rather than the escape bytes that drew them.
// It knows what a redraw uses: \n, \r, cursor up (CSI n A / n F), erase line (CSI 2K / K)
// and erase below (CSI 0J / J); SGR colour codes are dropped; anything else is an error, so
// a redraw written with codes this model does not know fails loudly instead of passing.

export interface Screen {
  lines: string[];
  row: number;
  col: number;
}

export function render(output: string): Screen {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string) => {
    const l = lines[row]!.padEnd(col, ' ');
    lines[row] = l.slice(0, col) + ch + l.slice(col + 1);
    col++;
  };
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]!;
    if (ch === '\n') {
      row++;
      col = 0;
      if (lines.length <= row) lines.push('');
    } else if (ch === '\r') {
      col = 0;
    } else if (ch === '\x1b') {
      const m = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(output.slice(i));
      if (!m) throw new Error(`unknown escape at ${i}: ${JSON.stringify(output.slice(i, i + 8))}`);
      i += m[0].length - 1;
      const n = m[1] === '' ? 1 : Number(m[1]);
      switch (m[2]) {
        case 'm':
          break;
        case 'A':
          row = Math.max(0, row - n);
          break;
        case 'F':
          row = Math.max(0, row - n);
          col = 0;
          break;
        case 'K':
          if (m[1] === '2') lines[row] = '';
          else lines[row] = lines[row]!.slice(0, col);
          break;
        case 'J':
          lines[row] = lines[row]!.slice(0, col);
          lines.length = row + 1;
          break;
        default:
          throw new Error(`escape ${JSON.stringify(m[0])} not modelled`);
      }
    } else {
      put(ch);
    }
  }
  return { lines, row, col };
}

/** The screen's lines with trailing blank lines dropped, each right-trimmed. */
export function shown(output: string): string[] {
  const { lines } = render(output);
  const out = lines.map((l) => l.replace(/\s+$/, ''));
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}
