/**
 * Response bodies of the routes the operator's tools need (the console, `ccs`): who the caller
 * is, and how to sign in with Entra ID. The OpenAPI document is generated from them.
 */
import { z } from 'zod';

export const CallerSchema = z
  .object({
    name: z.string().describe("The access token's configured name, or the Entra user or app"),
    kind: z.enum(['access-token', 'entra']),
    role: z.enum(['read', 'write']),
    can_write: z.boolean().describe('true for the write role: enable, update, disable, the audit log'),
  })
  .meta({ id: 'Caller', description: 'Who the credentials belong to and what they may do.' });

export const EntraSignInSchema = z
  .object({
    tenant_id: z.string(),
    authority: z.string().describe('Where to sign in, e.g. https://login.microsoftonline.com/<tenant>'),
    scopes: z.array(z.string()).describe('What to ask a token for (its app roles come with it)'),
    console_client_id: z
      .string()
      .nullable()
      .describe("The console's app registration (authorization code + PKCE), null when none is set"),
  })
  .meta({ id: 'EntraSignIn', description: 'How to sign in to this API with Microsoft Entra ID.' });
