/**
 * Rollout policies (issue 19, docs/rollouts.md): how a change reaches a fleet — a canary wave
 * first, then waves of at most `max_concurrency` hosts, each waited for (apply, serving check,
 * bake time) before the next, stopping when more than `max_errors` hosts went wrong. The
 * default policy is today's behaviour: every host at once, no gate.
 */
import { z } from 'zod';
import { isHostName } from '../names.js';

/** A number of hosts, or a share of the fleet (`"25%"`). */
export type HostCount = { hosts: number } | { percent: number };

/** A ccs-id's rollout policy, as stored and as the engine uses it. */
export interface RolloutPolicy {
  /** The first wave: these hosts (those enrolled), or the first N hosts in name order; null: none. */
  canary: { names: string[] } | { count: number } | null;
  /** Hosts per wave after the canary; null: all the rest at once. */
  maxConcurrency: HostCount | null;
  /** Hosts that may go wrong before the rollout halts (more than this halts it). */
  maxErrors: HostCount;
  /** Time to wait after a wave settled before the next starts. */
  bakeSeconds: number;
  /** Halted: put the changed hosts back on the previous settings by itself. */
  autoRollback: boolean;
}

export const DEFAULT_POLICY: RolloutPolicy = {
  canary: null,
  maxConcurrency: null,
  maxErrors: { hosts: 0 },
  bakeSeconds: 0,
  autoRollback: false,
};

/** A policy that changes nothing about today's behaviour runs the classic all-at-once path. */
export function isDefaultPolicy(policy: RolloutPolicy): boolean {
  return (
    policy.canary === null &&
    policy.maxConcurrency === null &&
    policy.bakeSeconds === 0 &&
    !policy.autoRollback
  );
}

const MAX_HOSTS = 100_000;
/** A day: a bake longer than the operation could ever wait is a typo. */
export const MAX_BAKE_SECONDS = 86_400;
const PERCENT = /^(\d{1,3})%$/;

/** `5` hosts or `"25%"` of the fleet. */
const hostCount = (min: number) =>
  z.union([
    z.number().int('must be a whole number of hosts or a percentage like "25%"').min(min).max(MAX_HOSTS),
    z
      .string()
      .regex(PERCENT, 'must be a whole number of hosts or a percentage like "25%"')
      .refine((v) => {
        const n = Number(PERCENT.exec(v)?.[1]);
        return n >= Math.max(min, 0) && n <= 100;
      }, `must be a percentage from ${min}% to 100%`),
  ]);

/** The API's form of a policy (snake_case, as the IIS Administration API names fields). */
export const RolloutBodySchema = z.strictObject({
  canary: z
    .union([
      z.number().int('must be a number of hosts or a list of host names').min(0).max(MAX_HOSTS),
      z
        .array(z.string().refine(isHostName, 'must list host names (letters, digits, dots, hyphens)'))
        .max(100, 'must list at most 100 hosts'),
    ])
    .nullable()
    .optional(),
  max_concurrency: hostCount(1).nullable().optional(),
  max_errors: hostCount(0).optional(),
  bake_seconds: z
    .number()
    .int('must be a whole number of seconds')
    .min(0)
    .max(MAX_BAKE_SECONDS, `must be at most ${MAX_BAKE_SECONDS} seconds`)
    .optional(),
  auto_rollback: z.boolean().optional(),
});
export type RolloutBody = z.infer<typeof RolloutBodySchema>;

function toCount(value: number | string): HostCount {
  return typeof value === 'number' ? { hosts: value } : { percent: Number(PERCENT.exec(value)?.[1]) };
}

/** A validated body → a policy; omitted members take the default. */
export function policyFromBody(body: RolloutBody): RolloutPolicy {
  const canary = body.canary;
  return {
    canary:
      canary === undefined ||
      canary === null ||
      canary === 0 ||
      (Array.isArray(canary) && canary.length === 0)
        ? null
        : Array.isArray(canary)
          ? { names: [...new Set(canary.map((n) => n.toLowerCase()))] }
          : { count: canary },
    maxConcurrency: body.max_concurrency == null ? null : toCount(body.max_concurrency),
    maxErrors: body.max_errors === undefined ? DEFAULT_POLICY.maxErrors : toCount(body.max_errors),
    bakeSeconds: body.bake_seconds ?? 0,
    autoRollback: body.auto_rollback ?? false,
  };
}

const countView = (c: HostCount): number | string => ('hosts' in c ? c.hosts : `${c.percent}%`);

/** A policy in the API's form, every member present. */
export function policyView(policy: RolloutPolicy): {
  canary: number | string[] | null;
  max_concurrency: number | string | null;
  max_errors: number | string;
  bake_seconds: number;
  auto_rollback: boolean;
} {
  return {
    canary:
      policy.canary === null ? null : 'names' in policy.canary ? policy.canary.names : policy.canary.count,
    max_concurrency: policy.maxConcurrency && countView(policy.maxConcurrency),
    max_errors: countView(policy.maxErrors),
    bake_seconds: policy.bakeSeconds,
    auto_rollback: policy.autoRollback,
  };
}

/** A count resolved against a fleet of `total` hosts: a percentage rounds up for sizes, down for budgets. */
export function resolveCount(count: HostCount, total: number, round: 'up' | 'down'): number {
  if ('hosts' in count) return count.hosts;
  const exact = (count.percent * total) / 100;
  return round === 'up' ? Math.ceil(exact) : Math.floor(exact);
}

/**
 * The waves of a rollout over `hosts`: the canary wave (named hosts that are enrolled, or the
 * first N in name order), then the rest in name order, at most `max_concurrency` per wave
 * (at least one). Every host is in exactly one wave; an empty canary is no wave.
 */
export function planWaves(hosts: readonly string[], policy: RolloutPolicy): string[][] {
  const sorted = [...hosts].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  let canary: string[] = [];
  if (policy.canary && 'names' in policy.canary) {
    const named = new Set(policy.canary.names);
    canary = sorted.filter((h) => named.has(h.toLowerCase()));
  } else if (policy.canary) {
    canary = sorted.slice(0, policy.canary.count);
  }
  const inCanary = new Set(canary);
  const rest = sorted.filter((h) => !inCanary.has(h));
  const size = policy.maxConcurrency
    ? Math.max(1, resolveCount(policy.maxConcurrency, sorted.length, 'up'))
    : Math.max(1, rest.length);
  const waves = canary.length > 0 ? [canary] : [];
  for (let i = 0; i < rest.length; i += size) waves.push(rest.slice(i, i + size));
  return waves;
}
