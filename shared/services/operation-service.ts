/**
 * Operations as the API's callers see them: read one (advanced first, so a reader never sees
 * stale progress), wait on one, and sweep the running ones so deadlines are enforced even when
 * no report or request arrives.
 */
import { notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { OperationHostRecord, OperationRecord } from '../model.js';
import type { OperationRepository } from '../ports.js';
import type { OperationEngine } from './operation-engine.js';

const OPERATION_ID = /^[0-9a-f-]{36}$/;

export class OperationService {
  constructor(
    private readonly engine: OperationEngine,
    private readonly operations: Pick<OperationRepository, 'activeIds' | 'hosts'>,
    private readonly log: Logger,
  ) {}

  /** An operation with its per-host results; 404 `id` when there is none. */
  async get(id: string): Promise<{ operation: OperationRecord; hosts: OperationHostRecord[] }> {
    const operation = OPERATION_ID.test(id) ? await this.engine.advance(id) : null;
    if (!operation) throw notFound('id', 'Operation not found', 'OperationNotFound');
    return { operation, hosts: await this.operations.hosts(id) };
  }

  /** Move an operation forward; its current record (null: no such operation). */
  advance(id: string): Promise<OperationRecord | null> {
    return this.engine.advance(id);
  }

  /** The per-host rows of an operation. */
  hosts(id: string): Promise<OperationHostRecord[]> {
    return this.operations.hosts(id);
  }

  /** Advance every running operation once; returns how many could not be (the next sweep retries). */
  async sweep(): Promise<number> {
    let failed = 0;
    for (const id of await this.operations.activeIds()) {
      try {
        await this.engine.advance(id);
      } catch {
        failed++;
        this.log.warn('could not advance operation; the next sweep retries', { operationId: id });
      }
    }
    return failed;
  }
}
