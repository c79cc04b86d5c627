/** OpenAPI metadata of the rollout routes (functions/http/rollout.ts; docs/rollouts.md). */
import type { z } from 'zod';
import { RolloutBodySchema } from '../../shared/rollout/policy.js';
import { ErrorBodySchema, OperationSchema } from './response-schemas.js';
import { RolloutPolicySchema } from './rollout-schemas.js';

/**
 * The shape of operations.ts's OperationMetadata, restated: importing it from there would be an
 * import cycle (operations.ts spreads this file's metadata in). The spread checks they agree.
 */
interface ResponseMetadata {
  description: string;
  body?: z.ZodType;
  headers?: Record<string, unknown>;
}
interface OperationMetadata {
  summary: string;
  description?: string;
  tag: 'centralized-certificates' | 'operations';
  requestBody?: z.ZodType;
  responses: Record<string, ResponseMetadata>;
}

const error = (description: string): ResponseMetadata => ({ description, body: ErrorBodySchema });

/** What any request can be answered with (as the other routes). */
const ANY = {
  '400': error('Invalid parameter; `name` is the field'),
  '401': error('No or invalid credentials'),
  '403': error('Forbidden: a read-only caller that writes'),
  '503': error('A dependency is unavailable, or the service is misconfigured; retry after `Retry-After`'),
};

const operatorRequest = (summary: string, description: string): OperationMetadata => ({
  summary,
  description,
  tag: 'operations',
  responses: {
    '202': {
      description:
        'Taken: the operation as it is now; poll `Operation-Location` (Prefer is not honoured here)',
      body: OperationSchema,
      headers: { 'Operation-Location': { schema: { type: 'string' } } },
    },
    '404': error('Unknown operation'),
    '409': error('The operation is not a halted rollout'),
    ...ANY,
  },
});

export const ROLLOUT_OPERATION_METADATA: Record<string, OperationMetadata> = {
  getRolloutPolicy: {
    summary: "Read a ccs-id's rollout policy",
    tag: 'centralized-certificates',
    responses: {
      '200': { description: 'The policy (the default when none was set)', body: RolloutPolicySchema },
      ...ANY,
    },
  },
  putRolloutPolicy: {
    summary: "Replace a ccs-id's rollout policy",
    description:
      'Canary, waves, error budget, bake time and automatic rollback for the changes accepted from now on. Omitted members take the default; `{}` restores all-at-once.',
    tag: 'centralized-certificates',
    requestBody: RolloutBodySchema.meta({ id: 'RolloutPolicyBody' }),
    responses: {
      '200': { description: 'The policy as stored', body: RolloutPolicySchema },
      '413': error('The body is over 64 KiB'),
      '415': error('The body is not application/json'),
      ...ANY,
    },
  },
  resumeRollout: operatorRequest(
    'Resume a halted rollout',
    'The next wave starts; the errors counted so far are accepted. Write role; audited (`rollout.resume`).',
  ),
  rollBackRollout: operatorRequest(
    'Roll a halted rollout back',
    'The hosts that received the change get the previous settings as a new generation. Write role; audited (`rollout.rollback`).',
  ),
};
