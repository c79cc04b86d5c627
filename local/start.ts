/**
 * `npm start`: run the whole local system until Ctrl-C. Settings: PORT (API, default 7071),
 * CCS_LOCAL_DIR (default .local), CCS_QUEUE_PORT / CCS_TABLE_PORT / CCS_KEYVAULT_PORT
 * (0 or unset: free ports), CCS_LOCAL_HOSTS (comma-separated host names).
 */
import { startStack } from './stack.js';

const env = process.env;
const number = (value: string | undefined, fallback: number) =>
  value === undefined || value === '' ? fallback : Number(value);

try {
  const stack = await startStack({
    dir: env.CCS_LOCAL_DIR ?? '.local',
    port: number(env.PORT, 7071),
    queuePort: number(env.CCS_QUEUE_PORT, 0),
    tablePort: number(env.CCS_TABLE_PORT, 0),
    keyVaultPort: number(env.CCS_KEYVAULT_PORT, 0),
    hosts: env.CCS_LOCAL_HOSTS
      ? env.CCS_LOCAL_HOSTS.split(',')
          .map((h) => h.trim())
          .filter(Boolean)
      : undefined,
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('Stopping the local stack…\n');
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdout.write(
    `Local stack ready: API ${stack.info.api}, ccs-id "${stack.info.ccsId}" with hosts ${stack.info.hosts.join(', ')}; details in ${env.CCS_LOCAL_DIR ?? '.local'}/stack.json (Ctrl-C stops)\n`,
  );
} catch (error) {
  process.stderr.write(
    `Local stack failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
