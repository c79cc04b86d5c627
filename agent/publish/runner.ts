/**
 * The elected host's publisher (docs/certificates.md, "Publishing"): runs the `publish` and
 * `reencrypt` commands the API sends it, with the publisher library of this folder, and reports.
 *
 * - A publish run arrives in chunks (shared/publishing/messages.ts); they are gathered in memory
 *   and the run starts once all of them are here. A host that dies meanwhile loses them: the API
 *   asks again (of whoever holds the lease) after two silent intervals.
 * - The store's path is expanded here and must be inside this host's allowed locations with the
 *   `write` claim; the private-key password is fetched by its exact Key Vault version; each
 *   source's PFX or PEM is its certificate's managed secret, fetched by exact name and version
 *   and never cached or logged. A source whose secret cannot be read keeps its files.
 * - The report lists every file the publisher owns after the run (its ownership record), in
 *   chunks under the queue's message limit.
 */
import {
  expandAllowedLocations,
  isInsideAllowedLocations,
  type AllowedLocation,
} from '../../shared/paths.js';
import {
  MESSAGE_VERSION,
  ReportSchema,
  type HostError,
  type Report,
  type SecretRef,
} from '../../shared/messages.js';
import type { SecretStore } from '../../shared/ports.js';
import type {
  PublishCommand,
  PublishCounts,
  PublishedFile,
  PublishReport,
  ReencryptCommand,
  ReencryptReport,
  SourceErrorReport,
} from '../../shared/publishing/messages.js';
import type { Backend } from '../backends/backend.js';
import { crashPoint } from '../crash-points.js';
import type { Logger } from '../log.js';
import { localPath } from '../preflight.js';
import type { ReportSink } from '../queue.js';
import type { SecretCache } from '../secrets.js';
import { asPublishError, PublishError } from './commit.js';
import { loadManifest } from './manifest.js';
import { publish, type PasswordVersion, type PublishResult } from './publisher.js';
import { removeStageFolders, runRotationStep } from './rotation-step.js';
import { FolderShare, kindOf, ShareError, type PublishShare } from './share.js';
import type { PublishSource } from './source.js';

/** JSON bytes per report: under the 48 KiB a base64 queue message of 64 KiB holds. */
const CHUNK_BYTES = 45_000;

export interface PublisherRunnerDeps {
  ccsId: string;
  hostName: string;
  /** The store's private-key password, by exact version. */
  secrets: SecretCache;
  /** Certificates' managed secrets (PFX/PEM): read by exact version, never cached. */
  sourceSecrets: Pick<SecretStore, 'getSecret'>;
  reports: ReportSink;
  environment: Record<string, string | undefined>;
  allowedLocations: readonly AllowedLocation[];
  log: Logger;
  now: () => Date;
  /** Maps a store path to the folder node:fs writes (agent/backends/backend.ts). */
  backend?: Pick<Backend, 'publishFolder'>;
  /** The share a run writes (default FolderShare; fault tests wrap it to fail as a file server does). */
  shareOf?: (folder: string) => PublishShare;
}

/** A publisher failure in the API's error vocabulary. */
const SHARE_ERRORS: Record<PublishError['code'], { code: string; status: number }> = {
  share_read_only: { code: 'ShareReadOnly', status: 409 },
  share_full: { code: 'ShareFull', status: 409 },
  share_unavailable: { code: 'ShareUnavailable', status: 409 },
  share_error: { code: 'ShareError', status: 409 },
  concurrent_publisher: { code: 'ConcurrentPublisher', status: 409 },
  record_unreadable: { code: 'PublisherRecordUnreadable', status: 409 },
  foreign_files: { code: 'ForeignFiles', status: 409 },
  unreadable_files: { code: 'UnreadableFiles', status: 409 },
  stale_run: { code: 'StaleRun', status: 409 },
};

function hostErrorOf(error: unknown): HostError {
  if (error instanceof PublishError) {
    const { code, status } = SHARE_ERRORS[error.code];
    return { name: 'path', code, detail: error.message.slice(0, 1024), status };
  }
  if (error instanceof PathRefused) return error.hostError;
  return { name: 'host', code: 'PublishFailed', detail: 'The publisher failed unexpectedly', status: 500 };
}

class PathRefused extends Error {
  constructor(readonly hostError: HostError) {
    super(hostError.detail);
  }
}

/** What chunk 0 of a run's report says about the whole run. */
interface RunHead {
  counts: PublishCounts;
  orphansDueAt: Date | null;
}

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8') + 1;

export class PublisherRunner {
  /** Chunks of publish runs not yet complete, by run. */
  private readonly gathering = new Map<number, Map<number, PublishCommand>>();

  constructor(private readonly deps: PublisherRunnerDeps) {}

  async run(command: PublishCommand | ReencryptCommand): Promise<void> {
    if (command.type === 'reencrypt') return this.rotationStep(command);
    const run = this.gather(command);
    if (run) await this.publishRun(run);
  }

  /** The run once every chunk is here (a newer run drops older partial ones). */
  private gather(
    command: PublishCommand,
  ): { first: PublishCommand; sources: PublishCommand['sources'] } | null {
    for (const seq of this.gathering.keys()) if (seq < command.seq) this.gathering.delete(seq);
    const chunks = this.gathering.get(command.seq) ?? new Map<number, PublishCommand>();
    chunks.set(command.chunk.index, command);
    this.gathering.set(command.seq, chunks);
    if (chunks.size < command.chunk.count) return null;
    this.gathering.delete(command.seq);
    const ordered = [...chunks.values()].sort((a, b) => a.chunk.index - b.chunk.index);
    return { first: ordered[0]!, sources: ordered.flatMap((c) => c.sources) };
  }

  private async publishRun(run: {
    first: PublishCommand;
    sources: PublishCommand['sources'];
  }): Promise<void> {
    const { first } = run;
    const started = this.deps.now();
    let result: PublishResult;
    let fetchErrors: SourceErrorReport[] = [];
    let folder: string;
    try {
      folder = await this.writableFolder(first.path);
      const password = await this.password(first.privateKeyPassword);
      const fetched = await this.fetchSources(run.sources);
      fetchErrors = fetched.errors;
      result = await publish(
        {
          share: this.deps.shareOf?.(folder) ?? new FolderShare(folder),
          now: this.deps.now,
          tempMaxAgeMs: first.orphanAfterSeconds * 1000,
          afterTempWritten: () => crashPoint('publish-mid-write', { type: 'publish' }),
        },
        {
          sources: fetched.sources,
          keep: [...fetched.errors.map((e) => e.source), ...(first.keep ?? [])],
          privateKeyPassword: password,
          profile: first.profile,
          run: { seq: first.seq, issuedAt: first.issuedAt },
        },
      );
      if (first.removeStages) await removeStageFolders(folder);
    } catch (error) {
      const hostError = hostErrorOf(error);
      this.deps.log.warn('publish run failed', { seq: first.seq, code: hostError.code });
      await this.send([this.publishReport(first, 0, 1, [], [], undefined, hostError)]);
      return;
    }
    const owned = await this.ownedFiles(folder);
    const errors: SourceErrorReport[] = [
      ...fetchErrors,
      ...result.errors.map((e) => ({
        source: e.source,
        version: e.version,
        code: e.code,
        detail: e.detail.slice(0, 512),
        ...(e.files ? { files: e.files.slice(0, 20) } : {}),
      })),
    ];
    const counts: PublishCounts = {
      written: new Set(result.written.map((w) => w.file)).size,
      unchanged: result.unchanged.length,
      removed: result.removed.length,
      keptChanged: result.keptChanged.length,
      tempFilesRemoved: result.tempFilesRemoved.length,
      skippedNames: result.skippedNames.length,
    };
    await this.send(this.chunked(first, owned, errors, { counts, orphansDueAt: result.orphansDueAt }));
    this.deps.log.info('publish run done', {
      seq: first.seq,
      ...counts,
      refused: errors.length,
      ms: this.deps.now().getTime() - started.getTime(),
    });
  }

  private async rotationStep(command: ReencryptCommand): Promise<void> {
    let report: Omit<ReencryptReport, 'v' | 'ccsId' | 'host' | 'type' | 'operationId' | 'step' | 'at'>;
    try {
      const store = await this.writableFolder(command.path);
      const result = await runRotationStep({
        step: command.step,
        store,
        stage: command.stage,
        from: await this.password(command.from),
        to: await this.password(command.to),
        profile: command.profile,
        force: command.force,
        now: this.deps.now,
      });
      report = {
        outcome: 'succeeded',
        error: null,
        files: result.reencrypted.length + result.alreadyCurrent.length,
        foreign: result.foreign.slice(0, 100),
      };
    } catch (error) {
      const hostError = hostErrorOf(error);
      const foreign = error instanceof PublishError && error.code === 'foreign_files' ? error.files : [];
      report = { outcome: 'failed', error: hostError, files: 0, foreign: foreign.slice(0, 100) };
    }
    this.deps.log.info('rotation step done', {
      operationId: command.operationId,
      step: command.step,
      outcome: report.outcome,
      code: report.error?.code,
    });
    await this.send([
      {
        ...this.header(),
        type: 'reencrypt',
        operationId: command.operationId,
        step: command.step,
        ...report,
        at: this.deps.now().toISOString(),
      },
    ]);
  }

  /** The folder behind the store path, which must be inside an allowed location with the write claim. */
  private async writableFolder(path: string): Promise<string> {
    const folder = localPath(path, this.deps.environment);
    const allowed = expandAllowedLocations(this.deps.allowedLocations, this.deps.environment);
    if (!folder || !isInsideAllowedLocations(path, allowed, 'write')) {
      throw new PathRefused({
        name: 'path',
        code: 'PathForbidden',
        detail: 'The store is not inside an allowed location of this host with the write claim',
        status: 403,
      });
    }
    if (!this.deps.backend?.publishFolder) return folder;
    try {
      return await this.deps.backend.publishFolder(folder);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw asPublishError(new ShareError(kindOf(code), 'open', path, code));
    }
  }

  private async password(ref: SecretRef | null): Promise<PasswordVersion> {
    if (!ref) return { value: '', version: 'none' };
    return { value: await this.deps.secrets.get(ref), version: ref.version };
  }

  /** Each source's managed secret, by exact version; one that cannot be read is refused, not guessed. */
  private async fetchSources(
    sources: PublishCommand['sources'],
  ): Promise<{ sources: PublishSource[]; errors: SourceErrorReport[] }> {
    const fetched: PublishSource[] = [];
    const errors: SourceErrorReport[] = [];
    for (const source of sources) {
      try {
        const value = await this.deps.sourceSecrets.getSecret({ name: source.name, version: source.version });
        fetched.push({
          name: source.name,
          version: source.version,
          format: source.format,
          bytes: source.format === 'pfx' ? Buffer.from(value, 'base64') : Buffer.from(value, 'utf8'),
          ...(source.overwrite ? { overwrite: true } : {}),
        });
      } catch (error) {
        const status = (error as { statusCode?: unknown }).statusCode;
        errors.push({
          source: source.name,
          version: source.version,
          code: 'secret_unavailable',
          detail: `Key Vault did not give the certificate's secret at this version${typeof status === 'number' ? ` (HTTP ${status})` : ''}; its files are kept`,
        });
      }
    }
    return { sources: fetched, errors };
  }

  private async ownedFiles(folder: string): Promise<PublishedFile[]> {
    const { manifest } = await loadManifest(new FolderShare(folder));
    return Object.entries(manifest.files)
      .map(([file, entry]) => ({
        file,
        source: entry.source,
        version: entry.version,
        thumbprint: entry.thumbprint,
        profile: entry.profile,
        passwordVersion: entry.passwordVersion,
      }))
      .sort((a, b) => a.file.localeCompare(b.file));
  }

  /** The report in chunks, each under the queue's message limit; at least one. */
  private chunked(
    command: PublishCommand,
    files: PublishedFile[],
    errors: SourceErrorReport[],
    head: RunHead,
  ): PublishReport[] {
    const room = CHUNK_BYTES - bytes(this.publishReport(command, 99_999, 99_999, [], [], head, null));
    const parts: { files: PublishedFile[]; errors: SourceErrorReport[] }[] = [];
    let current = { files: [] as PublishedFile[], errors: [] as SourceErrorReport[] };
    let used = 0;
    const add = (kind: 'files' | 'errors', item: PublishedFile | SourceErrorReport) => {
      const size = bytes(item);
      if (used + size > room && used > 0) {
        parts.push(current);
        current = { files: [], errors: [] };
        used = 0;
      }
      (current[kind] as unknown[]).push(item);
      used += size;
    };
    files.forEach((f) => add('files', f));
    errors.forEach((e) => add('errors', e));
    parts.push(current);
    return parts.map((p, index) =>
      this.publishReport(
        command,
        index,
        parts.length,
        p.files,
        p.errors,
        index === 0 ? head : undefined,
        null,
      ),
    );
  }

  private publishReport(
    command: PublishCommand,
    index: number,
    count: number,
    files: PublishedFile[],
    errors: SourceErrorReport[],
    head: RunHead | undefined,
    error: HostError | null,
  ): PublishReport {
    return {
      ...this.header(),
      type: 'publish',
      seq: command.seq,
      chunk: { index, count },
      files,
      errors,
      ...(head ? { counts: head.counts } : {}),
      ...(head?.orphansDueAt ? { orphansDueAt: head.orphansDueAt.toISOString() } : {}),
      error,
      at: this.deps.now().toISOString(),
    };
  }

  private header() {
    return { v: MESSAGE_VERSION, ccsId: this.deps.ccsId, host: this.deps.hostName };
  }

  private async send(reports: Report[]): Promise<void> {
    for (const report of reports) await this.deps.reports.send(ReportSchema.parse(report));
  }
}
