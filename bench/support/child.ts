/**
 * Child processes of a benchmark, spoken to over Node's IPC channel with request/response
 * messages: `{ id, method, params }` → `{ id, result }` or `{ id, error }`. Each part of the
 * system (storage emulator, local host, agent fleet) gets its own process, so that on a
 * 2-core machine they run in parallel and each one's memory can be measured on its own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Child {
  readonly process: ChildProcess;
  call<T>(method: string, params?: unknown): Promise<T>;
  /** Asks the child to close (method `close`), then waits for it to exit (kills it after 10 s). */
  close(): Promise<void>;
}

const FUNCTIONS_TEST_MODE =
  /^WARNING: (Failed to detect the Azure Functions runtime|Skipping call to register function)/;

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/** Starts `bench/support/<file>` with tsx and waits for its `ready` message. */
export async function startChild(
  file: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<Child> {
  const path = fileURLToPath(new URL(file, import.meta.url));
  const child = fork(path, args, {
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_CHILD_EXEC_ARGV?.split(' ').filter(Boolean) ?? [])],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  // @azure/functions announces its test mode on every start: not news, dropped.
  let partial = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (!FUNCTIONS_TEST_MODE.test(line)) process.stderr.write(`${line}\n`);
  });
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (message: Reply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(`${file}: ${message.error}`));
    else waiter.resolve(message.result);
  });
  child.once('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${file} exited (${code ?? signal})`));
    pending.clear();
  });
  const call = <T>(method: string, params?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, method, params });
    });
  await call('ready');
  return {
    process: child,
    call,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        await call('close').catch(() => undefined);
        await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export type Handlers = Record<string, (params: unknown) => unknown>;

/**
 * The child side: answers requests with `handlers`. `ready` resolves once `setup` has run;
 * `close` runs `teardown` and exits.
 */
export function serveParent(setup: () => Promise<Handlers>, teardown: () => Promise<void>): void {
  const ready = setup();
  // A setup failure must still answer the parent's `ready` call.
  ready.catch(() => undefined);
  process.on('message', (message: { id: number; method: string; params: unknown }) => {
    const answer = async (): Promise<unknown> => {
      const handlers = await ready;
      if (message.method === 'ready') return true;
      if (message.method === 'close') {
        await teardown();
        setImmediate(() => process.exit(0));
        return true;
      }
      const handler = handlers[message.method];
      if (!handler) throw new Error(`unknown method ${message.method}`);
      return handler(message.params);
    };
    answer().then(
      (result) => process.send?.({ id: message.id, result }),
      (error: unknown) =>
        process.send?.({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  // The parent died: do not linger.
  process.on('disconnect', () => process.exit(0));
}

/** Peak resident set size sampled every `everyMs` (reset-able, unlike resourceUsage().maxRSS). */
export function rssSampler(everyMs = 100): { peak(): number; reset(): void; stop(): void } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  timer.unref();
  return {
    peak: () => Math.max(peak, process.memoryUsage.rss()),
    reset: () => {
      peak = process.memoryUsage.rss();
    },
    stop: () => clearInterval(timer),
  };
}
