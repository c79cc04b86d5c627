/**
 * A scripted host for API tests: it speaks the real message schemas over the real queues,
 * but the test decides what it answers. (The real agent has its own tests.) Like an agent it has
 * its own key pair, signs every report, and enrols with the one-time code it is given (its hello
 * proves the code, shared/enrolment.ts); without one it waits for approval.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { StorageClients } from '../../shared/adapters/storage.js';
import {
  AgentCommandSchema,
  CommandSchema,
  type AgentCommand,
  decodeMessageText,
  encodeMessage,
  MESSAGE_VERSION,
  type ActualState,
  type BindingsSummary,
  type Command,
  type HostError,
  type HostPublicKey,
  type Report,
  type ServingCheck,
} from '../../shared/messages.js';
import { enrolmentProof } from '../../shared/enrolment.js';
import { jwkThumbprint, signReport, type ReportSigner } from '../../shared/report-signature.js';
import { commandQueueName, REPORTS_QUEUE } from '../../shared/names.js';

export class FakeHost {
  appliedGeneration = 0;
  actual: ActualState = { enabled: false, path: null, username: null };
  /** Sent in hello and results when set (issue 13). */
  bindings: BindingsSummary | undefined;
  /** Sent with every apply this host does when set. */
  serving: ServingCheck | undefined;

  readonly key: ReportSigner = newHostKey();

  constructor(
    private readonly storage: StorageClients,
    readonly ccsId: string,
    readonly host: string,
    /** A code from `POST …/enrolment-codes`; without one the host waits for approval. */
    private readonly enrolmentCode?: string,
  ) {}

  get thumbprint(): string {
    return jwkThumbprint(this.key.publicKey);
  }

  /** Sends a report signed with this host's key, as its agent does. */
  async report(report: Report): Promise<void> {
    const queue = this.storage.queue(REPORTS_QUEUE);
    await queue.createIfNotExists();
    await queue.sendMessage(encodeMessage(signReport(report, this.key)));
  }

  hello(): Promise<void> {
    return this.report({
      v: MESSAGE_VERSION,
      type: 'hello',
      ccsId: this.ccsId,
      host: this.host,
      agentVersion: 'test',
      backend: 'fake',
      actual: this.actual,
      appliedGeneration: this.appliedGeneration,
      at: new Date().toISOString(),
      ...(this.bindings ? { bindings: this.bindings } : {}),
      hostKey: this.key.publicKey,
      ...(this.enrolmentCode && {
        enrolmentProof: enrolmentProof(this.enrolmentCode, this.ccsId, this.host, this.key.publicKey),
      }),
    });
  }

  /** Take every pending command off this host's queue (change commands only). */
  commands(): Promise<Command[]> {
    return this.take((text) => CommandSchema.parse(text));
  }

  /** Take every pending command off this host's queue, scans and publish runs included. */
  agentCommands(): Promise<AgentCommand[]> {
    return this.take((text) => AgentCommandSchema.parse(text));
  }

  private async take<T>(parse: (message: unknown) => T): Promise<T[]> {
    const queue = this.storage.queue(commandQueueName(this.ccsId, this.host));
    const out: T[] = [];
    for (;;) {
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
      if (receivedMessageItems.length === 0) return out;
      for (const item of receivedMessageItems) {
        out.push(parse(decodeMessageText(item.messageText)));
        await queue.deleteMessage(item.messageId, item.popReceipt);
      }
    }
  }

  /** Answer a command: pass/fail a preflight, or apply. */
  async answer(command: Command, error: HostError | null = null): Promise<void> {
    const applies = command.type === 'apply' && error === null && command.generation > this.appliedGeneration;
    if (applies) {
      this.appliedGeneration = command.generation;
      this.actual = {
        enabled: command.desired.enabled,
        path: command.desired.path,
        username: command.desired.username,
      };
    }
    await this.report({
      v: MESSAGE_VERSION,
      type: 'result',
      ccsId: this.ccsId,
      host: this.host,
      operationId: command.operationId,
      phase: command.type,
      generation: command.generation,
      outcome: error ? 'failed' : command.type === 'apply' && !applies ? 'superseded' : 'succeeded',
      error,
      actual: this.actual,
      appliedGeneration: this.appliedGeneration,
      at: new Date().toISOString(),
      ...(this.bindings ? { bindings: this.bindings } : {}),
      ...(applies && this.serving ? { serving: this.serving } : {}),
    });
  }
}

/** A host key as agent/host-key.ts makes one (EC P-256), kept in memory. */
export function newHostKey(): ReportSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const hostKey: HostPublicKey = { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y) };
  return { privateKey, publicKey: hostKey };
}
