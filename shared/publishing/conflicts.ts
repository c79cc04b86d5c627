/**
 * Share files claimed by more than one source (two Key Vault certificates naming the same host):
 * the API refuses such a set of sources with 409 when it is saved, and the publisher refuses both
 * sources at run time (a tag selector may bring a conflict in after the sources were saved).
 * File names compare case-insensitively, as Windows compares them.
 */
export interface NameConflict {
  file: string;
  /** The Key Vault certificate names that claim it, sorted. */
  sources: string[];
}

/**
 * The share files claimed by more than one source: what the API turns into a 409 when sources
 * are set. Input: each source with the file names it would write (file-names.ts `fileNamesFor`).
 */
export function nameConflicts(
  claims: readonly { source: string; files: readonly string[] }[],
): NameConflict[] {
  const bySource = new Map<string, Set<string>>();
  const display = new Map<string, string>();
  for (const { source, files } of claims) {
    for (const file of files) {
      const key = file.toLowerCase();
      display.set(key, display.get(key) ?? file);
      const set = bySource.get(key) ?? new Set<string>();
      set.add(source);
      bySource.set(key, set);
    }
  }
  return [...bySource.entries()]
    .filter(([, sources]) => sources.size > 1)
    .map(([key, sources]) => ({ file: display.get(key) ?? key, sources: [...sources].sort() }))
    .sort((a, b) => a.file.localeCompare(b.file));
}
