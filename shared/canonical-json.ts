/**
 * Canonical JSON: the one byte sequence a signature covers, whoever serialised the message and
 * whatever order its members arrived in. Commands (shared/signing.ts) and reports
 * (shared/report-signature.ts) are signed over it.
 */
/** A piece of punctuation on the work stack (never confused with a string value). */
class Raw {
  constructor(readonly text: string) {}
}

/**
 * Canonical JSON: object keys sorted (by UTF-16 code unit), no whitespace, `undefined` members
 * dropped, non-finite numbers refused. Iterative, so hostile nesting cannot exhaust the stack.
 */
export function canonicalJson(value: unknown): string {
  let out = '';
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item instanceof Raw) {
      out += item.text;
      continue;
    }
    if (item === null || typeof item === 'boolean' || typeof item === 'string') {
      out += JSON.stringify(item);
    } else if (typeof item === 'number') {
      if (!Number.isFinite(item)) throw new TypeError('canonical JSON has no non-finite numbers');
      out += JSON.stringify(item);
    } else if (Array.isArray(item)) {
      const parts: unknown[] = [new Raw('[')];
      item.forEach((element, i) => {
        if (i > 0) parts.push(new Raw(','));
        parts.push(element === undefined ? null : element);
      });
      parts.push(new Raw(']'));
      for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i]);
    } else if (typeof item === 'object') {
      const record = item as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort();
      const parts: unknown[] = [new Raw('{')];
      keys.forEach((k, i) => {
        parts.push(new Raw(`${i > 0 ? ',' : ''}${JSON.stringify(k)}:`), record[k]);
      });
      parts.push(new Raw('}'));
      for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i]);
    } else {
      throw new TypeError(`canonical JSON cannot hold a ${typeof item}`);
    }
  }
  return out;
}
