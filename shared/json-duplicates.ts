/**
 * Duplicate member names in a JSON text. `JSON.parse` keeps the last of two equal names, while
 * other parsers (proxies, WAFs, audit tooling, the next version of this code) may keep the first:
 * a body like `{"path":"C:\\certs","path":"\\\\evil\\x"}` means two different things to two
 * readers. The API refuses such bodies instead of picking one.
 *
 * The scan is iterative (no recursion), so nesting depth is bounded only by the text's length,
 * and linear in that length. Names are compared after unescaping (`"p\u0061th"` is `path`).
 */

/** How much of a member name an error may quote. */
const MAX_NAME_LENGTH = 64;

interface Frame {
  object: boolean;
  keys: Set<string>;
  /** Dotted path of this container (array positions are numbers, as zod reports them). */
  path: string;
  /** Object: the member whose value comes next. Array: the index of the current element. */
  key: string | null;
  index: number;
  expectKey: boolean;
}

const join = (path: string, part: string): string => (path === '' ? part : `${path}.${part}`);

/**
 * The dotted path of the first duplicated member name (`identity.password`), or null when there
 * is none. `text` must be valid JSON (call it after `JSON.parse` accepted the text).
 */
export function firstDuplicateKey(text: string): string | null {
  const stack: Frame[] = [];
  const childPath = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    return join(top.path, top.object ? (top.key ?? '') : String(top.index));
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      // `{` or `[`
      const object = c === 0x7b;
      stack.push({ object, keys: new Set(), path: childPath(), key: null, index: 0, expectKey: object });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      if (top?.object) top.expectKey = true;
      else if (top) top.index += 1;
    } else if (c === 0x22) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.object && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return join(top.path, key).slice(0, MAX_NAME_LENGTH);
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j;
    }
  }
  return null;
}
