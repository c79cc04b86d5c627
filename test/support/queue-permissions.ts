/**
 * What an agent may do to Storage Queues in Azure, checked on the calls it really makes: the
 * local emulator enforces no RBAC, so every request of the agent's queue client is recorded (on
 * node:http's `http.client.request.start` channel, told apart by its User-Agent) and mapped to
 * the data actions Azure accepts for it ("Permissions for calling data operations" in the Queue
 * service REST API's "Authorize with Microsoft Entra ID"), then checked against the agents' role
 * assignments in infra/app/rbac.bicep, conditions on the queue name included.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { QueueServiceClient } from '@azure/storage-queue';
import { REPORTS_QUEUE } from '../../shared/names.js';

const MESSAGES = 'Microsoft.Storage/storageAccounts/queueServices/queues/messages';
const QUEUES = 'Microsoft.Storage/storageAccounts/queueServices/queues';
const AGENT_USER_AGENT = 'ccs-agent-under-rbac-test';
const CHANNEL = 'http.client.request.start';

export interface QueueCall {
  operation: string;
  queue: string;
  /** The data actions that each allow the operation (any one suffices). */
  anyOf: string[];
}

/** The queue operation of an emulator request (`/<account>/<queue>[/messages[/<id>]]?…`). */
export function classify(method: string, path: string): QueueCall {
  const url = new URL(path, 'http://emulator');
  const [, queue = '', messages, id] = url.pathname.split('/').filter(Boolean);
  const call = (operation: string, ...anyOf: string[]): QueueCall => ({ operation, queue, anyOf });
  if (messages === 'messages') {
    if (id !== undefined && method === 'DELETE')
      return call('Delete Message', `${MESSAGES}/process/action`, `${MESSAGES}/delete`);
    if (id !== undefined && method === 'PUT') return call('Update Message', `${MESSAGES}/write`);
    if (method === 'POST') return call('Put Message', `${MESSAGES}/add/action`, `${MESSAGES}/write`);
    if (method === 'GET' && url.searchParams.get('peekonly') === 'true')
      return call('Peek Messages', `${MESSAGES}/read`);
    if (method === 'GET') return call('Get Messages', `${MESSAGES}/process/action`);
    return call('Clear Messages', `${MESSAGES}/delete`);
  }
  if (method === 'PUT') return call('Create Queue', `${QUEUES}/write`);
  if (method === 'DELETE') return call('Delete Queue', `${QUEUES}/delete`);
  return call(`${method} queue`, `${QUEUES}/read`);
}

/**
 * The data actions the agents' roles grant on a queue (infra/app/rbac.bicep): Storage Queue Data
 * Message Processor (read, process) where the name starts `h-`; Storage Queue Data Message Sender
 * (add) on the reports queue and where the name is like `h-*-poison`. No management action.
 */
export function agentActionsOn(queue: string): string[] {
  const actions: string[] = [];
  if (queue.startsWith('h-')) actions.push(`${MESSAGES}/read`, `${MESSAGES}/process/action`);
  if (queue === REPORTS_QUEUE || /^h-.*-poison$/.test(queue)) actions.push(`${MESSAGES}/add/action`);
  return actions;
}

/** A queue client for the agent, whose requests the recorder below picks out. */
export function agentQueueService(connectionString: string): QueueServiceClient {
  return QueueServiceClient.fromConnectionString(connectionString, {
    userAgentOptions: { userAgentPrefix: AGENT_USER_AGENT },
  });
}

/** Records the requests of `agentQueueService` clients until `stop()`. */
export function recordAgentQueueCalls(): { calls: QueueCall[]; stop(): void } {
  const calls: QueueCall[] = [];
  const listener = (message: unknown): void => {
    const request = (message as { request: ClientRequest }).request;
    if (!String(request.getHeader('user-agent') ?? '').includes(AGENT_USER_AGENT)) return;
    calls.push(classify(request.method, request.path));
  };
  subscribe(CHANNEL, listener);
  return { calls, stop: () => unsubscribe(CHANNEL, listener) };
}

/** The calls the agents' roles would refuse in Azure. */
export function refused(calls: QueueCall[]): QueueCall[] {
  return calls.filter((c) => !c.anyOf.some((action) => agentActionsOn(c.queue).includes(action)));
}
