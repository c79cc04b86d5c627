/**
 * The scanner's memory of the share, `<stateDir>/inventory.json`: per file its name, size,
 * last write time, a SHA-256 of its bytes (to recognise a renamed file without parsing it) and
 * the entry last reported for it. It is what makes a rescan cheap — a file whose name, size and
 * last write time are unchanged is neither read nor parsed again — and what deltas are computed
 * against. Metadata only, like the reports: no key material, no PFX bytes, no password.
 *
 * The cache belongs to one (path, private-key password version): a change of either starts
 * from an empty cache, since every file may read differently.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { InventoryFileSchema, type InventoryFile } from '../../shared/certificates/metadata.js';
import { writeFileAtomic } from '../atomic-file.js';

export interface CachedFile {
  name: string;
  size: number;
  mtimeMs: number;
  sha256: string;
  entry: InventoryFile;
}

export interface InventoryCache {
  /** What the cached entries were read with: the local path and the password's Key Vault version. */
  key: string;
  /** By lower-cased file name (Windows file names are case-insensitive). */
  files: Map<string, CachedFile>;
}

export interface InventoryCacheStore {
  /** Null when there is none (first scan, another ccs-id, or an unreadable file). */
  load(): Promise<InventoryCache | null>;
  save(cache: InventoryCache): Promise<void>;
}

const FileSchema = z.object({
  v: z.literal(1),
  ccsId: z.string(),
  key: z.string(),
  files: z.array(
    z.object({
      name: z.string(),
      size: z.number(),
      mtimeMs: z.number(),
      sha256: z.string(),
      entry: InventoryFileSchema,
    }),
  ),
});

export class FileInventoryCache implements InventoryCacheStore {
  readonly file: string;
  private memory: InventoryCache | null | undefined;

  constructor(
    stateDir: string,
    private readonly ccsId: string,
  ) {
    this.file = join(stateDir, 'inventory.json');
  }

  async load(): Promise<InventoryCache | null> {
    if (this.memory !== undefined) return this.memory;
    let raw: string;
    try {
      raw = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return (this.memory = null);
      throw error;
    }
    let parsed: z.infer<typeof FileSchema> | undefined;
    try {
      const result = FileSchema.safeParse(JSON.parse(raw));
      parsed = result.success ? result.data : undefined;
    } catch {
      parsed = undefined;
    }
    // An unreadable cache only costs a full rescan.
    if (!parsed || parsed.ccsId !== this.ccsId) return (this.memory = null);
    this.memory = {
      key: parsed.key,
      files: new Map(parsed.files.map((f) => [f.name.toLowerCase(), f])),
    };
    return this.memory;
  }

  async save(cache: InventoryCache): Promise<void> {
    const body = { v: 1, ccsId: this.ccsId, key: cache.key, files: [...cache.files.values()] };
    await writeFileAtomic(this.file, JSON.stringify(body), 0o600);
    this.memory = cache;
  }
}

export class MemoryInventoryCache implements InventoryCacheStore {
  constructor(public cache: InventoryCache | null = null) {}
  load(): Promise<InventoryCache | null> {
    return Promise.resolve(this.cache);
  }
  save(cache: InventoryCache): Promise<void> {
    this.cache = cache;
    return Promise.resolve();
  }
}
