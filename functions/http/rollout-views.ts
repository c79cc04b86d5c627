/** Response bodies of rollouts (schemas: functions/openapi/rollout-schemas.ts). */
import type { z } from 'zod';
import type { RolloutProgress } from '../../shared/rollout/model.js';
import { isDefaultPolicy, policyView, type RolloutPolicy } from '../../shared/rollout/policy.js';
import type { RolloutPolicySchema, RolloutViewSchema } from '../openapi/rollout-schemas.js';

export function rolloutPolicyView(
  ccsId: string,
  href: string,
  policy: RolloutPolicy,
): z.output<typeof RolloutPolicySchema> {
  return {
    id: ccsId,
    ...policyView(policy),
    default: isDefaultPolicy(policy),
    _links: { self: { href: `${href}/rollout` }, resource: { href } },
  };
}

export function rolloutView(r: RolloutProgress): z.output<typeof RolloutViewSchema> {
  return {
    state: r.state,
    policy: policyView(r.policy),
    current_wave: r.current,
    bake_until: r.bakeUntil,
    max_errors: r.maxErrors,
    error_count: r.errorCount,
    accepted_errors: r.accepted,
    waves: r.waves.map((w, wave) => ({
      wave,
      hosts: w.hosts,
      started: w.startedAt,
      settled: w.settledAt,
      deadline: w.deadline,
      errors: w.errors,
    })),
    errors: r.errors.map((e) => ({
      host: e.host,
      wave: e.wave,
      reason: e.reason,
      detail: e.detail,
      bindings: e.bindings.map((b) => ({
        site: b.site,
        host_name: b.hostName,
        port: b.port,
        status: b.status,
        detail: b.detail,
      })),
    })),
    request: r.request,
    rollback: r.rollback && {
      generation: r.rollback.generation,
      by: r.rollback.by,
      started: r.rollback.startedAt,
      sent: r.rollback.sentAt,
      deadline: r.rollback.deadline,
      hosts: r.rollback.hosts,
      serving: r.rollback.serving,
    },
  };
}
