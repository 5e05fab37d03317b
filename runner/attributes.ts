// A fence's info string: the language, then optional attributes in braces, e.g.
//   sh {target=local timeout=120s}
//   sh {background=true name=traffic ready="summary .*"}
//   yaml {file=deploy/linkerd/server-split.yaml}
// Braces keep renderers highlighting the block by its language. Errors say what is wrong;
// the caller adds FILE:LINE.

/** A target's name; which targets exist the document declares (front-matter.ts). */
export type Target = string;
export const TARGET_NAME = /^[a-z][a-z0-9-]*$/;

export interface Attributes {
  target?: Target;
  background?: boolean;
  name?: string;
  /** Source of a regular expression; a background block is ready when a line matches. */
  ready?: string;
  timeoutMs?: number;
  skip?: boolean;
  always?: boolean;
  file?: string;
  /** For the traffic checks: errors seen while this block's section runs are expected. */
  allowErrors?: boolean;
}

export interface Info {
  lang: string;
  attrs: Attributes;
}

export class AttributeError extends Error {
  override name = 'AttributeError';
}

export const RUN_LANGS = new Set(['sh', 'bash', 'shell']);
export const STAGE_LANGS = new Set(['yaml', 'yml']);

const BOOLEAN_KEYS = ['background', 'skip', 'always', 'allow-errors'] as const;
const KEYS = new Set(['target', 'name', 'ready', 'timeout', 'file', ...BOOLEAN_KEYS]);
/** Keys that only make sense on a block that runs. */
const RUN_ONLY = new Set(['background', 'name', 'ready', 'timeout', 'always']);

/** Parse an info string as marked gives it (`lang` holds the whole info string). */
export function parseInfo(info: string): Info {
  const trimmed = info.trim();
  const m = /^([^\s{]*)\s*(.*)$/s.exec(trimmed)!;
  const lang = m[1]!.toLowerCase();
  const rest = m[2]!.trim();
  if (rest === '') return { lang, attrs: {} };
  // Other languages may carry renderer options (```js {1,3}): those are not ours.
  if (!RUN_LANGS.has(lang) && !STAGE_LANGS.has(lang)) return { lang, attrs: {} };
  if (!rest.startsWith('{') || !rest.endsWith('}')) {
    throw new AttributeError(`attributes go in braces after the language, e.g. \`\`\`${lang} {target=local}; got ${JSON.stringify(rest)}`);
  }
  const pairs = splitPairs(rest.slice(1, -1));
  return { lang, attrs: validate(lang, pairs) };
}

/** key=value pairs; values bare, "double-quoted" (\" and \\ escape) or 'single-quoted'. */
function splitPairs(body: string): Array<[string, string | true]> {
  const pairs: Array<[string, string | true]> = [];
  let i = 0;
  const n = body.length;
  while (i < n) {
    while (i < n && /\s/.test(body[i]!)) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && !/[\s=]/.test(body[i]!)) i++;
    const key = body.slice(keyStart, i);
    if (body[i] !== '=') {
      pairs.push([key, true]);
      continue;
    }
    i++; // '='
    let value = '';
    const q = body[i];
    if (q === '"' || q === "'") {
      i++;
      let closed = false;
      while (i < n) {
        const c = body[i]!;
        if (c === q) {
          closed = true;
          i++;
          break;
        }
        // Only \" and \\ are escapes, so a regex like "\d+" survives as written.
        if (q === '"' && c === '\\' && (body[i + 1] === '"' || body[i + 1] === '\\')) {
          value += body[i + 1];
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      if (!closed) throw new AttributeError(`unclosed quote in value of ${key}`);
      if (i < n && !/\s/.test(body[i]!)) throw new AttributeError(`expected a space after the quoted value of ${key}`);
    } else {
      const start = i;
      while (i < n && !/\s/.test(body[i]!)) i++;
      value = body.slice(start, i);
    }
    pairs.push([key, value]);
  }
  return pairs;
}

function validate(lang: string, pairs: Array<[string, string | true]>): Attributes {
  const attrs: Attributes = {};
  const seen = new Set<string>();
  const isRun = RUN_LANGS.has(lang);
  for (const [key, raw] of pairs) {
    if (!KEYS.has(key)) {
      throw new AttributeError(`unknown attribute ${JSON.stringify(key)} (known: ${[...KEYS].join(', ')})`);
    }
    if (seen.has(key)) throw new AttributeError(`attribute ${key} given twice`);
    seen.add(key);
    if (RUN_ONLY.has(key) && !isRun) throw new AttributeError(`${key}= only applies to sh, bash or shell blocks`);
    if (key === 'file' && !STAGE_LANGS.has(lang)) throw new AttributeError('file= only applies to yaml blocks');
    if ((BOOLEAN_KEYS as readonly string[]).includes(key)) {
      const v = bool(key, raw);
      if (key === 'background') attrs.background = v;
      else if (key === 'skip') attrs.skip = v;
      else if (key === 'always') attrs.always = v;
      else attrs.allowErrors = v;
      continue;
    }
    if (raw === true || raw === '') throw new AttributeError(`attribute ${key} needs a value (${key}=...)`);
    switch (key) {
      case 'target':
        // Whether the document declares it, document.ts checks.
        if (!TARGET_NAME.test(raw)) throw new AttributeError(`target must be a target name (lower-case letters, digits, -), got ${JSON.stringify(raw)}`);
        attrs.target = raw;
        break;
      case 'name':
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(raw)) {
          throw new AttributeError(`name must be letters, digits, . _ - (it names a log file), got ${JSON.stringify(raw)}`);
        }
        attrs.name = raw;
        break;
      case 'ready':
        try {
          new RegExp(raw);
        } catch (e) {
          throw new AttributeError(`ready is not a valid regular expression: ${(e as Error).message}`);
        }
        attrs.ready = raw;
        break;
      case 'timeout':
        attrs.timeoutMs = parseDuration(raw, 'timeout');
        break;
      case 'file':
        attrs.file = raw;
        break;
    }
  }
  if (attrs.ready !== undefined && !attrs.background) throw new AttributeError('ready= needs background=true');
  if (attrs.background && attrs.always) throw new AttributeError('a background block cannot also be always=true');
  return attrs;
}

function bool(key: string, raw: string | true): boolean {
  if (raw === true || raw === 'true') return true;
  if (raw === 'false') return false;
  throw new AttributeError(`${key} must be true or false, got ${JSON.stringify(raw)}`);
}

/** `500ms`, `90s`, `10m`, `1h`; a bare number is seconds. */
export function parseDuration(raw: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new AttributeError(`${what} must be a duration like 30s, 10m or 500ms, got ${JSON.stringify(raw)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(m[1]) * unit;
  if (!(ms > 0)) throw new AttributeError(`${what} must be more than zero, got ${JSON.stringify(raw)}`);
  return Math.round(ms);
}
