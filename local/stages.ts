/**
 * Running one stage of the local stack's start: tell the progress output, and turn whatever goes
 * wrong into a StartFailure — the stage, one line saying why, and the log that says more.
 */
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { isAddressInUse, portInUse, type PortSetting } from './busy-port.js';
import type { Stage, StartProgress } from './progress.js';
import type { Logger } from '../shared/log.js';

/** A start that failed: which stage, why (one line), and which log has the details. */
export class StartFailure extends Error {
  constructor(
    readonly stage: Stage,
    readonly reason: string,
    readonly logFile: string,
  ) {
    super(`${stage}: ${reason}`);
    this.name = 'StartFailure';
  }
}

export interface StageContext {
  progress: StartProgress;
  /** The stack's own log (api.log), where every failure is also recorded. */
  log: Logger;
  /** The stack's ports and their settings, to explain a port that is taken. */
  ports: PortSetting[];
}

export async function runStage<T>(
  context: StageContext,
  stage: Stage,
  logFile: string,
  work: () => Promise<T>,
  detail: (value: T) => string,
): Promise<T> {
  context.progress.begin(stage);
  try {
    const value = await work();
    context.progress.done(stage, detail(value));
    return value;
  } catch (error) {
    context.progress.failed(stage);
    const failure =
      error instanceof StartFailure
        ? error
        : new StartFailure(stage, await explain(error, context.ports), logFile);
    context.log.error('local stack failed to start', { stage, reason: failure.reason });
    throw failure;
  }
}

/** One line for what went wrong, in the words of someone starting the stack. */
async function explain(error: unknown, ports: PortSetting[]): Promise<string> {
  if (isAddressInUse(error)) {
    const port = ports.find((p) => p.port === error.port);
    if (port) return (await portInUse(port)).message;
  }
  const failure = error as NodeJS.ErrnoException | null;
  if (failure?.code === 'ENOENT' && failure.path === 'openssl') {
    return 'the openssl command was not found; install OpenSSL and make sure it is on PATH';
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/**
 * Waits until every host has enrolled (said hello), reporting the count as it grows. After
 * `timeoutMs` it fails naming the hosts that did not, with the first one's agent log.
 */
export async function waitForEnrolment(options: {
  hostStore: { list(ccsId: string): Promise<{ host: string }[]> };
  ccsId: string;
  hosts: string[];
  timeoutMs: number;
  logs: string;
  onCount: (enrolled: number) => void;
  /** Also required of each host, e.g. that its key is the registered one (local/enrol-hosts.ts). */
  isEnrolled?: (host: string) => Promise<boolean>;
}): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let missing = options.hosts;
  let reported = -1;
  for (;;) {
    const enrolled = new Set((await options.hostStore.list(options.ccsId)).map((h) => h.host.toLowerCase()));
    const isEnrolled = options.isEnrolled ?? (() => Promise.resolve(true));
    const ready = await Promise.all(
      options.hosts.map(async (h) => enrolled.has(h.toLowerCase()) && (await isEnrolled(h))),
    );
    missing = options.hosts.filter((_, i) => !ready[i]);
    const count = options.hosts.length - missing.length;
    if (count !== reported) options.onCount((reported = count));
    if (missing.length === 0) return;
    if (Date.now() >= deadline) break;
    await delay(200);
  }
  throw new StartFailure(
    'agents',
    `${options.hosts.length - missing.length}/${options.hosts.length} enrolled within ${options.timeoutMs / 1000} s; not enrolled: ${missing.join(', ')}`,
    join(options.logs, `agent-${missing[0]}.log`),
  );
}
