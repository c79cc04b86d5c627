/**
 * The API's request bodies, validated at the edge with zod. Field names follow the IIS
 * Administration API (snake_case). Every rejection names the offending field in its
 * dotted form (`identity.password`), and no message ever repeats a submitted value.
 */
import { z } from 'zod';
import { invalid, type DomainError } from './errors.js';
import { RolloutBodySchema } from './rollout/policy.js';

// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Invisible and bidirectional formatting characters: they make one name look like another in logs and UIs. */
const INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}]/u;
/** An unpaired UTF-16 surrogate: it cannot travel as UTF-8, so the value would not arrive intact. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (v: string): boolean => !LONE_SURROGATE.test(v);
/** Characters Windows forbids in user names (SAM rules), besides control characters. */
const USER_FORBIDDEN = /["/[\]:;|=,+*?<>]/;

export const UsernameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .refine((v) => !CONTROL.test(v), 'must not contain control characters')
  .refine((v) => wellFormed(v) && !INVISIBLE.test(v), 'must not contain invisible or unpaired characters')
  .refine((v) => {
    const parts = v.split('\\');
    if (parts.length > 2) return false;
    const user = parts[parts.length - 1] ?? '';
    const domain = parts.length === 2 ? (parts[0] ?? '') : 'x';
    return user.trim() !== '' && domain !== '' && !USER_FORBIDDEN.test(user) && !USER_FORBIDDEN.test(domain);
  }, 'must be a Windows account: user, DOMAIN\\user or user@domain');

export const PasswordSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(512, 'must be at most 512 characters')
  .refine((v) => !v.includes('\u0000'), 'must not contain NUL characters')
  .refine(wellFormed, 'must be well-formed Unicode (no unpaired surrogates)');

/** An empty private-key password is allowed: PFX files exported without one. */
export const PrivateKeyPasswordSchema = z
  .string()
  .max(512, 'must be at most 512 characters')
  .refine((v) => !v.includes('\u0000'), 'must not contain NUL characters')
  .refine(wellFormed, 'must be well-formed Unicode (no unpaired surrogates)');

/** POST: enable CCS. Path syntax and the allow-list are checked after this (shared/paths.ts). */
export const EnableBodySchema = z.strictObject({
  path: z.string(),
  identity: z.strictObject({
    username: UsernameSchema,
    password: PasswordSchema,
  }),
  private_key_password: PrivateKeyPasswordSchema.optional(),
  /** This change's rollout policy instead of the ccs-id's (docs/rollouts.md). */
  rollout: RolloutBodySchema.optional(),
});
export type EnableBody = z.infer<typeof EnableBodySchema>;

/** Read-only fields of a GET body that a PATCH may send back unchanged (they are ignored). */
const ReadOnly = {
  id: z.string().optional(),
  status: z.unknown().optional(),
  generation: z.unknown().optional(),
  hosts: z.unknown().optional(),
  operation: z.unknown().optional(),
  coverage: z.unknown().optional(),
  serving: z.unknown().optional(),
  _links: z.unknown().optional(),
};

/** PATCH: any subset; `identity` may carry only the username or only the password. */
export const UpdateBodySchema = z.strictObject({
  ...ReadOnly,
  path: z.string().optional(),
  identity: z
    .strictObject({
      username: UsernameSchema.optional(),
      password: PasswordSchema.optional(),
    })
    .optional(),
  private_key_password: PrivateKeyPasswordSchema.optional(),
  rollout: RolloutBodySchema.optional(),
});
export type UpdateBody = z.infer<typeof UpdateBodySchema>;

/** Turn the first zod issue into a 400 that names the field (never the value). */
export function toInvalidParameter(error: z.ZodError): DomainError {
  const issue = error.issues[0];
  if (!issue) return invalid('body', 'The request body is invalid');
  const base = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    // A member name is caller input: quote a bounded prefix of it, never kilobytes of it.
    const field = [...base, issue.keys[0] ?? ''].join('.').slice(0, 64);
    return invalid(field, `Unknown field '${field}'`);
  }
  const field = base.length > 0 ? base.join('.') : 'body';
  const message =
    issue.code === 'invalid_type'
      ? issue.message.endsWith('received undefined')
        ? 'is required'
        : `must be of type ${issue.expected}`
      : issue.message;
  return invalid(field, `${field} ${message}`.trim());
}

/** Validate `value` against `schema`, throwing a 400 naming the field. */
export function parseBody<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('body', 'The request body must be a JSON object');
  }
  const result = schema.safeParse(value);
  if (!result.success) throw toInvalidParameter(result.error);
  return result.data;
}
