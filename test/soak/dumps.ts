/**
 * The end-of-run look at everything the run left, recorded as `dump` events for the canary scan
 * (invariant 6) and the audit log as `audit` events (invariant 7): every table entity and every
 * queue message (poison queues included) through the SDKs, the API's log, and every file under
 * the run's folder — Azurite's databases and queue extents, agent logs and state, simulated
 * registries — except those that hold a secret by design (named below, with why).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { TableServiceClient } from '@azure/data-tables';
import type { FaultStack } from '../hardening/support/fault-stack.js';
import type { SoakApi } from './api-client.js';
import type { HistoryRecorder } from './history.js';

/** Files that hold a secret on purpose. */
const EXEMPT: readonly RegExp[] = [
  /^keyvault\.json$/, // the vault's own store
  /^shares\/accounts\.json$/, // the simulated file server's accounts: it plays Active Directory
  /^shares\/demo\.json$/, // the demo share's record of its account (the same)
  /^agents\/[^/]+\/agent\.json$/, // each agent's configuration holds its own vault token
  /host-key\.json$/, // each host's own private key
  /^certs\//, // the local vault's TLS key
];

export async function readAudit(api: SoakApi, recorder: HistoryRecorder, ccsId: string): Promise<void> {
  const res = await api.call('auditor', 'GET', `/audit?ccs_id=${ccsId}&top=500`);
  if (res.status !== 200) throw new Error(`the audit log could not be read: ${res.status}`);
  const body = res.body as {
    entries: { ccs_id: string; operation: { id: string } | null; changes: { field: string }[] }[];
  };
  for (const entry of [...body.entries].reverse()) {
    // Enrolment actions (issue 17: the hosts' one-time codes) are audited too, with no operation:
    // they are not changes, and invariant 7 counts changes.
    if (entry.operation === null) continue;
    recorder.record({
      kind: 'audit',
      ccsId: entry.ccs_id,
      operationId: entry.operation.id,
      changedFields: entry.changes.map((c) => c.field),
    });
  }
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

export async function dumpEverything(stack: FaultStack, recorder: HistoryRecorder): Promise<void> {
  const tables = TableServiceClient.fromConnectionString(stack.azurite.connectionString, {
    allowInsecureConnection: true,
  });
  for await (const table of tables.listTables()) {
    const rows: unknown[] = [];
    for await (const entity of stack.storage.table(table.name!).listEntities()) rows.push(entity);
    recorder.record({ kind: 'dump', source: `table:${table.name}`, text: JSON.stringify(rows) });
  }
  for await (const queue of stack.storage.queues.listQueues()) {
    const { peekedMessageItems } = await stack.storage
      .queue(queue.name)
      .peekMessages({ numberOfMessages: 32 });
    const text = JSON.stringify(peekedMessageItems.map((m) => m.messageText));
    recorder.record({ kind: 'dump', source: `queue:${queue.name}`, text });
  }
  recorder.record({ kind: 'dump', source: 'api-log', text: stack.apiLog.join('') });
  for (const path of files(stack.dir)) {
    const name = relative(stack.dir, path).split(sep).join('/');
    if (EXEMPT.some((re) => re.test(name)) || statSync(path).size > 64 * 1024 * 1024) continue;
    // Binary files are read as Latin-1: every byte survives, so ASCII canaries are found.
    recorder.record({ kind: 'dump', source: `file:${name}`, text: readFileSync(path, 'latin1') });
  }
}
