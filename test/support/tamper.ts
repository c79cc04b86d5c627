/**
 * Single-field tampering for signature tests: every leaf of a signed message (except its `sig`),
 * and a copy of the message with one leaf replaced — or undefined when the value is unchanged
 * (fast-check then discards the case).
 */

/** Every leaf of `message` except its top-level `sig`, as a path of keys. */
export function leavesOf(message: Record<string, unknown>): string[][] {
  const leaves: string[][] = [];
  const walk = (node: unknown, path: string[]) => {
    if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node))
        if (!(path.length === 0 && k === 'sig')) walk(v, [...path, k]);
    } else leaves.push(path);
  };
  walk(message, []);
  return leaves;
}

/** `message` with the leaf at `path` set to `value`; undefined when that changes nothing. */
export function withLeaf(
  message: Record<string, unknown>,
  path: string[],
  value: unknown,
): Record<string, unknown> | undefined {
  const tampered = structuredClone(message);
  let node = tampered;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (JSON.stringify(node[last]) === JSON.stringify(value)) return undefined;
  node[last] = value;
  return tampered;
}
