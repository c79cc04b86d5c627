/**
 * What this host has applied: the generation and the desired state (Key Vault references
 * only — never a secret value), kept in `<stateDir>/applied.json` and replaced atomically. It
 * is what makes commands idempotent across restarts (a generation at or below it is never
 * re-applied) and what drift is measured against.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DesiredStateSchema, type DesiredState } from '../shared/messages.js';
import { writeFileAtomic } from './atomic-file.js';

export interface AppliedRecord {
  appliedGeneration: number;
  /** The last desired state applied (null before the first apply). */
  desired: DesiredState | null;
  appliedAt: string | null;
}

export const NOTHING_APPLIED: AppliedRecord = { appliedGeneration: 0, desired: null, appliedAt: null };

export interface StateStore {
  load(): Promise<AppliedRecord>;
  save(record: AppliedRecord): Promise<void>;
}

const FileSchema = z.object({
  v: z.literal(1),
  ccsId: z.string(),
  appliedGeneration: z.number().int().nonnegative(),
  desired: DesiredStateSchema.nullable(),
  appliedAt: z.string().nullable(),
});

export class FileStateStore implements StateStore {
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly ccsId: string,
  ) {
    this.file = join(stateDir, 'applied.json');
  }

  async load(): Promise<AppliedRecord> {
    let raw: string;
    try {
      raw = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return NOTHING_APPLIED;
      throw error;
    }
    const parsed = FileSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) throw new Error(`${this.file} is not a valid agent state file`);
    // Generations count per ccs-id: a host moved to another fleet starts from zero there.
    if (parsed.data.ccsId !== this.ccsId) return NOTHING_APPLIED;
    const { appliedGeneration, desired, appliedAt } = parsed.data;
    return { appliedGeneration, desired, appliedAt };
  }

  async save(record: AppliedRecord): Promise<void> {
    const body = { v: 1, ccsId: this.ccsId, ...record };
    await writeFileAtomic(this.file, `${JSON.stringify(body, null, 2)}\n`, 0o644);
  }
}

/** In-memory store for unit tests. */
export class MemoryStateStore implements StateStore {
  constructor(public record: AppliedRecord = NOTHING_APPLIED) {}
  load(): Promise<AppliedRecord> {
    return Promise.resolve(this.record);
  }
  save(record: AppliedRecord): Promise<void> {
    this.record = record;
    return Promise.resolve();
  }
}
