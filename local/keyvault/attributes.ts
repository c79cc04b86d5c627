/**
 * An object version's attributes as the local Key Vault stores them (secrets and keys share the
 * shape; Unix seconds, as Key Vault sends them). Its own module: vault.ts and key-schema.ts both
 * need it, and vault.ts imports key-schema.ts.
 */
import { z } from 'zod';

export const AttributesSchema = z.object({
  enabled: z.boolean(),
  nbf: z.number().int().optional(),
  exp: z.number().int().optional(),
  created: z.number().int(),
  updated: z.number().int(),
});
