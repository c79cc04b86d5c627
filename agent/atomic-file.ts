/**
 * Crash-safe file replacement: write a temporary file next to the target, flush it, then
 * rename over the target. A reader (or the agent after a power cut) sees the old content or
 * the new, never half of each — the applied generation must never be torn.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    // A full disk fails the write after the file was created: leave no temporary file behind
    // (the soak's disk-full fault found one per attempt).
    await rm(temp, { force: true });
    throw error;
  }
}
