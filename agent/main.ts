/**
 * The agent's command line.
 *
 *   ccs-agent [run] [--config <file>]          the service loop (default)
 *   ccs-agent run --once [--config <file>]     hello, drain the queue, check drift, exit
 *   ccs-agent status [--config <file>]         print this host's applied and actual state (JSON)
 *
 * Exit codes: 0 done; 1 could not start (configuration, unexpected error); 2 `--once` finished
 * but a step failed (hello, a command, the drift check). SIGINT/SIGTERM stop the loop after the
 * message in hand (exit 0); a second signal exits at once (1) and the message in hand comes back
 * after its visibility timeout.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadAgentConfig, type AgentConfig } from './config.js';
import { commandQueueName } from '../shared/names.js';
import { matchesDesired } from './reconcile.js';
import { createBackend } from './backends/index.js';
import { FileStateStore } from './state.js';
import { readHostKeyThumbprint } from './host-key.js';

const USAGE = `Usage:
  ccs-agent [run] [--config <file>] [--once]
  ccs-agent status [--config <file>]

Options:
  --config <file>  JSON configuration (default: $CCS_AGENT_CONFIG); CCS_AGENT_* variables override it
  --once           send hello, handle every queued command, check drift once, then exit
  --help           show this text
`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

/** `status`: the local truth only — works while storage or Key Vault are unreachable. */
export async function status(config: AgentConfig): Promise<Record<string, unknown>> {
  const backend = createBackend(config);
  const state = new FileStateStore(config.stateDir, config.ccsId);
  const [applied, actual] = await Promise.all([state.load(), backend.readActual()]);
  return {
    host: config.hostName,
    ccsId: config.ccsId,
    queue: commandQueueName(config.ccsId, config.hostName),
    backend: backend.name,
    appliedGeneration: applied.appliedGeneration,
    appliedAt: applied.appliedAt,
    // Key Vault references ({ name, version }) only: the agent never stores a secret value.
    applied: applied.desired,
    actual,
    inSync: applied.desired ? matchesDesired(applied.desired, actual, config.environment) : null,
    // What an administrator compares before approving this host (RFC 7638 thumbprint); null before enrolment.
    hostKey: await readHostKeyThumbprint(config.stateDir),
  };
}

async function run(config: AgentConfig, once: boolean): Promise<number> {
  // The backend first, so an unavailable one fails before the SDKs load; they are imported here
  // because `status` and configuration errors never need them.
  const backend = createBackend(config);
  const { createAgent } = await import('./wiring.js');
  const { agent, log } = await createAgent(config, { backend });
  if (once) {
    const ok = await agent.runOnce();
    await backend.close?.();
    return ok ? 0 : 2;
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      log.info('stopping after the message in hand', { signal });
      agent.stop();
    } else {
      log.warn('stopping now; the message in hand will be redelivered', { signal });
      process.exit(1);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await agent.run();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await backend.close?.();
  }
  return 0;
}

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        once: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const command = positionals[0] ?? 'run';
  if (positionals.length > 1 || (command !== 'run' && command !== 'status')) {
    io.err(`Unknown command: ${positionals.join(' ')}\n\n${USAGE}`);
    return 1;
  }
  if (command === 'status' && values.once) {
    io.err(`--once applies to run only\n\n${USAGE}`);
    return 1;
  }

  try {
    const config = loadAgentConfig({ file: values.config, env: io.env });
    if (command === 'status') {
      io.out(`${JSON.stringify(await status(config), null, 2)}\n`);
      return 0;
    }
    return await run(config, values.once);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`ccs-agent: ${error.message}\n`);
    } else {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
      io.err(`ccs-agent: ${message}\n`);
    }
    return 1;
  }
}

// Run when executed directly (node --import tsx agent/main.ts, or the built dist/agent/main.js).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // SDK keep-alive sockets may linger; give stdout a moment to flush, then leave regardless.
    setTimeout(() => process.exit(code), 1000).unref();
  });
}
