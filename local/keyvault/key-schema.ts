/**
 * How the local Key Vault keeps a key (in memory and in its JSON data file, mode 0600). The
 * private key is kept as PKCS#8 PEM and never leaves the vault: no route returns it (Key Vault
 * keys created in the vault are not exportable — `attributes.exportable: false` in every key
 * bundle the SDK's recordings show). The public part is kept in JWK form, as it is served.
 */
import { z } from 'zod';
import { AttributesSchema } from './attributes.js';

/** The public JWK members of one version: `crv`, `x`, `y` (EC) or `n`, `e` (RSA), base64url. */
const PublicMembers = z.union([
  z.object({ crv: z.enum(['P-256', 'P-384', 'P-521']), x: z.string(), y: z.string() }),
  z.object({ n: z.string(), e: z.string() }),
]);

const Version = z.object({
  version: z.string(),
  kty: z.enum(['EC', 'RSA']),
  keyOps: z.array(z.string()),
  /** PKCS#8 PEM. */
  privateKey: z.string(),
  publicJwk: PublicMembers,
  attributes: AttributesSchema,
  tags: z.record(z.string(), z.string()).optional(),
});

export const KeySchema = z.object({
  name: z.string(),
  versions: z.array(Version).min(1),
});

export type StoredKey = z.infer<typeof KeySchema>;
export type StoredKeyVersion = z.infer<typeof Version>;
