/**
 * OpenAPI metadata of the routes the operator's tools need (functions/http/me.ts, sign-in.ts),
 * spread into OPERATION_METADATA (operations.ts), which checks their shape.
 */
import type { z } from 'zod';
import { ErrorBodySchema } from './response-schemas.js';
import { CallerSchema, EntraSignInSchema } from './operator-schemas.js';

interface Metadata {
  summary: string;
  description?: string;
  tag: 'meta';
  responses: Record<string, { description: string; body: z.ZodType }>;
}

const error = (description: string) => ({ description, body: ErrorBodySchema });

export const OPERATOR_OPERATIONS: Record<string, Metadata> = {
  getMe: {
    summary: 'Read who the credentials belong to and their role',
    tag: 'meta',
    responses: {
      '200': { description: 'The caller', body: CallerSchema },
      '401': error('No or invalid credentials'),
      '403': error('A valid Entra ID token without an app role'),
      '503': error('A dependency is unavailable, or the service is misconfigured (`name: configuration`)'),
    },
  },
  getEntraSignIn: {
    summary: 'Read how to sign in with Microsoft Entra ID',
    description: 'Anonymous: a client needs it before it has a token. It holds no secret.',
    tag: 'meta',
    responses: {
      '200': { description: 'Tenant, authority, scopes and the console client id', body: EntraSignInSchema },
      '404': error('This API accepts access tokens only (`name: entra`)'),
      '503': error('The service is misconfigured (`name: configuration`); retry after `Retry-After`'),
    },
  },
};
