/**
 * Response bodies of rollouts (issue 19, docs/rollouts.md): a ccs-id's rollout policy, and the
 * `rollout` block of an operation that ran under one.
 */
import { z } from 'zod';

const Link = z.object({ href: z.string() });
const Count = z
  .union([z.number().int(), z.string()])
  .describe('A number of hosts, or a share of the fleet such as `"25%"`');

const policyFields = {
  canary: z
    .union([z.number().int(), z.array(z.string())])
    .nullable()
    .describe('The first wave: a number of hosts (the first in name order) or host names; null: no canary'),
  max_concurrency: Count.nullable().describe('Hosts per wave after the canary; null: all the rest at once'),
  max_errors: Count.describe('Hosts that may go wrong; one more halts the rollout'),
  bake_seconds: z.number().int().describe('Time to wait after a wave settled before the next starts'),
  auto_rollback: z.boolean().describe('When halted, put the changed hosts back on the previous settings'),
};

export const RolloutPolicySchema = z
  .object({
    id: z.string(),
    ...policyFields,
    default: z.boolean().describe('Whether this is the default: every host at once, no gate'),
    _links: z.object({ self: Link, resource: Link }),
  })
  .meta({ id: 'RolloutPolicy', description: "A ccs-id's rollout policy." });

export const RolloutViewSchema = z
  .object({
    state: z.enum(['rolling', 'paused', 'halted', 'rolling_back', 'rolled_back', 'succeeded', 'canceled']),
    policy: z.object(policyFields),
    current_wave: z.number().int().describe('The latest wave started (-1: none yet)'),
    bake_until: z.string().nullable(),
    max_errors: z.number().int().describe('`max_errors` resolved against the fleet'),
    error_count: z.number().int(),
    accepted_errors: z.number().int().describe('Errors a resume accepted'),
    waves: z.array(
      z.object({
        wave: z.number().int(),
        hosts: z.number().int(),
        started: z.string().nullable(),
        settled: z.string().nullable(),
        deadline: z.string().nullable(),
        errors: z.number().int(),
      }),
    ),
    errors: z.array(
      z.object({
        host: z.string(),
        wave: z.number().int(),
        reason: z.enum(['apply_failed', 'serving_regressed', 'silent']),
        detail: z.string(),
        bindings: z.array(
          z.object({
            site: z.string(),
            host_name: z.string(),
            port: z.number().int(),
            status: z.string(),
            detail: z.string(),
          }),
        ),
      }),
    ),
    request: z
      .object({ kind: z.enum(['resume', 'rollback', 'cancel']), by: z.string(), at: z.string() })
      .nullable(),
    rollback: z
      .object({
        generation: z.number().int(),
        by: z.string(),
        started: z.string(),
        sent: z.string().nullable(),
        deadline: z.string(),
        hosts: z.number().int(),
        serving: z
          .object({
            ok: z.number().int(),
            mismatch: z.number().int(),
            failed: z.number().int(),
            skipped: z.number().int(),
          })
          .nullable(),
      })
      .nullable(),
  })
  .meta({
    id: 'Rollout',
    description: 'The waves, gates and rollback of an operation with a rollout policy.',
  });
