// GitHub-style heading anchors, so `--only` accepts the same id a reader sees in the URL.
// Same rules as github-slugger: lower-case, drop punctuation and symbols, each space
// becomes a dash, repeats get -1, -2, ...

const REMOVE = /[^\p{L}\p{M}\p{N}\p{Pc} -]/gu;

export function slug(text: string): string {
  return text.toLowerCase().replace(REMOVE, '').replace(/ /g, '-');
}

/** A slugger remembers the ids it gave out, like GitHub does for one page. */
export function createSlugger(): (text: string) => string {
  const seen = new Map<string, number>();
  return (text) => {
    const base = slug(text);
    let id = base;
    while (seen.has(id)) {
      const n = seen.get(base)! + 1;
      seen.set(base, n);
      id = `${base}-${n}`;
    }
    seen.set(id, 0);
    return id;
  };
}
