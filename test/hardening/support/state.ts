/**
 * A snapshot of everything a request could change: every entity of every table (with its ETag),
 * every queue's message count and visible messages, and the local Key Vault's counts of writing
 * operations. Two equal snapshots around a rejected request prove it changed nothing.
 */
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import type { LocalKeyVault } from '../../../local/keyvault/server.js';

export interface StateSnapshot {
  tables: Record<string, string[]>;
  queues: Record<string, { count: number; ids: string[] }>;
  vault: Record<string, number>;
}

/** The Key Vault operations that change the vault. */
export const VAULT_WRITES = [
  'setSecret',
  'updateSecret',
  'deleteSecret',
  'recoverDeletedSecret',
  'purgeDeletedSecret',
] as const;

export function vaultWrites(vault: LocalKeyVault): Record<string, number> {
  const stats = vault.stats();
  return Object.fromEntries(VAULT_WRITES.map((op) => [op, stats[op] ?? 0]));
}

export class StateProbe {
  private readonly tables: TableServiceClient;
  private readonly queues: QueueServiceClient;

  constructor(
    private readonly connectionString: string,
    private readonly vault: LocalKeyVault,
  ) {
    this.tables = TableServiceClient.fromConnectionString(connectionString, {
      allowInsecureConnection: true,
    });
    this.queues = QueueServiceClient.fromConnectionString(connectionString);
  }

  private readonly tableClients = new Map<string, TableClient>();

  private table(name: string): TableClient {
    let client = this.tableClients.get(name);
    if (!client) {
      client = TableClient.fromConnectionString(this.connectionString, name, {
        allowInsecureConnection: true,
      });
      this.tableClients.set(name, client);
    }
    return client;
  }

  async snapshot(): Promise<StateSnapshot> {
    const [tableNames, queueNames] = await Promise.all([this.tableNames(), this.queueNames()]);
    const tables: StateSnapshot['tables'] = {};
    const queues: StateSnapshot['queues'] = {};
    await Promise.all([
      ...tableNames.map(async (name) => {
        const rows: string[] = [];
        for await (const e of this.table(name).listEntities()) {
          rows.push(`${e.partitionKey}/${e.rowKey}@${e.etag}`);
        }
        tables[name] = rows.sort();
      }),
      ...queueNames.map(async (name) => {
        const client = this.queues.getQueueClient(name);
        const [props, peeked] = await Promise.all([
          client.getProperties(),
          client.peekMessages({ numberOfMessages: 32 }),
        ]);
        queues[name] = {
          count: props.approximateMessagesCount ?? 0,
          ids: peeked.peekedMessageItems.map((m) => m.messageId).sort(),
        };
      }),
    ]);
    return { tables, queues, vault: vaultWrites(this.vault) };
  }

  private async tableNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const table of this.tables.listTables()) if (table.name) names.push(table.name);
    return names;
  }

  private async queueNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const queue of this.queues.listQueues()) names.push(queue.name);
    return names;
  }
}

/** Human-readable differences between two snapshots (empty when equal). */
export function diffState(before: StateSnapshot, after: StateSnapshot): string[] {
  const out: string[] = [];
  const keys = (a: object, b: object) => [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const name of keys(before.tables, after.tables)) {
    const a = new Set(before.tables[name] ?? []);
    const b = new Set(after.tables[name] ?? []);
    for (const row of b) if (!a.has(row)) out.push(`table ${name}: + ${row}`);
    for (const row of a) if (!b.has(row)) out.push(`table ${name}: - ${row}`);
  }
  for (const name of keys(before.queues, after.queues)) {
    const a = before.queues[name];
    const b = after.queues[name];
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push(`queue ${name}: ${JSON.stringify(a ?? null)} -> ${JSON.stringify(b ?? null)}`);
    }
  }
  for (const op of keys(before.vault, after.vault)) {
    if (before.vault[op] !== after.vault[op]) {
      out.push(`vault ${op}: ${before.vault[op] ?? 0} -> ${after.vault[op] ?? 0}`);
    }
  }
  return out;
}
