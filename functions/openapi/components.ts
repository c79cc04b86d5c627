/**
 * zod schemas → OpenAPI components. `z.toJSONSchema` puts every nested schema that has an `id`
 * (`.meta({ id })`) under the converted schema's own `$defs`, which an OpenAPI document cannot
 * reference; here each one becomes `#/components/schemas/<id>` and every `$ref` follows it. A
 * schema with an id is itself a component, referenced where it is used.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

const DEFS = '#/$defs/';
const COMPONENTS = '#/components/schemas/';

/** `value` with every `#/$defs/X` reference pointing at `#/components/schemas/X`. */
function relink(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(relink);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key,
      key === '$ref' && typeof v === 'string' && v.startsWith(DEFS)
        ? COMPONENTS + v.slice(DEFS.length)
        : relink(v),
    ]),
  );
}

/** A collector of components: `schema` converts (and registers), `schemas` lists what was registered. */
export function collectComponents() {
  const components: Record<string, JsonSchema> = {};
  const add = (id: string, schema: unknown): void => {
    components[id] = relink(schema) as JsonSchema;
  };
  return {
    /** The JSON Schema of `s` for a document: a `$ref` when it has an id, else inline. */
    schema(s: z.ZodType, io: 'input' | 'output'): JsonSchema {
      const converted = z.toJSONSchema(s, { target: 'draft-2020-12', unrepresentable: 'any', io });
      const { $schema: _dialect, $defs, id: _id, ...body } = converted as JsonSchema & { $defs?: JsonSchema };
      for (const [id, def] of Object.entries($defs ?? {})) add(id, def);
      const id = z.globalRegistry.get(s)?.id;
      if (id === undefined) return relink(body) as JsonSchema;
      // zod moves a schema with an id into its own $defs (added above) and answers a $ref to it.
      if (!$defs || !(id in $defs)) add(id, body);
      return { $ref: COMPONENTS + id };
    },
    /** Every component so far, by name. */
    schemas(): Record<string, JsonSchema> {
      return Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b)));
    },
  };
}
