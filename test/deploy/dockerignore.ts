// .dockerignore matching, enough of Docker's rules for our file: patterns are relative to the
// context root (a leading "/" is dropped), `*` and `?` stay within one path segment, `**`
// spans any number of segments, `!` re-includes, the last matching line wins, and a path is
// excluded when it or any of its parent directories matches.

interface Rule {
  source: string;
  negate: boolean;
  re: RegExp;
}

function toRegExp(pattern: string): RegExp {
  if (/[[\]\\]/.test(pattern)) throw new Error(`.dockerignore pattern ${JSON.stringify(pattern)}: character classes and escapes are not supported here`);
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      const atSegmentStart = i === 0 || pattern[i - 1] === '/';
      if (atSegmentStart && pattern[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export type IgnoreMatcher = (path: string) => boolean;

export function parseDockerignore(text: string): IgnoreMatcher {
  const rules: Rule[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    line = line.replace(/^\/+/, '').replace(/\/+$/, '');
    if (line === '') continue;
    rules.push({ source: raw.trim(), negate, re: toRegExp(line) });
  }
  return (path: string) => {
    const parts = path.replace(/^\.?\/+/, '').split('/').filter((p) => p !== '' && p !== '.');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) {
      if (prefixes.some((p) => rule.re.test(p))) excluded = !rule.negate;
    }
    return excluded;
  };
}
