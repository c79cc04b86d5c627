/**
 * Reading what hosts reported about their CCS bindings and serving checks: for `/hosts`, an
 * operation's view, coverage, the DELETE guard and (next) the rollout gate. Lists that several
 * hosts share (a farm's hosts have the same sites) are read once, by digest.
 */
import type { BindingsHead, HostBindings, ServingRecord } from '../bindings/model.js';
import { servingOfOperation } from '../bindings/serving.js';
import { DomainError } from '../errors.js';
import type { CcsBinding } from '../messages.js';
import type { OperationHostRecord, OperationRecord } from '../model.js';
import type { Stores } from '../ports.js';
import { readHostBindings } from './bindings-folder.js';

/** Sites, hosts per site and host names per site a 409 lists at most. */
const LISTED_SITES = 100;
const LISTED_PER_SITE = 20;

/** A site that uses CCS on a fleet: where and for which names. */
export interface CcsSite {
  site: string;
  hosts: string[];
  hostNames: string[];
}

export class BindingsService {
  constructor(private readonly stores: Pick<Stores, 'desired' | 'bindings' | 'serving'>) {}

  /** Every host's head (what it last reported, and any read error). */
  heads(ccsId: string): Promise<BindingsHead[]> {
    return this.stores.bindings.heads(ccsId);
  }

  /** Every host's known bindings; a list several hosts share is read once. */
  async ofFleet(ccsId: string): Promise<HostBindings[]> {
    const heads = await this.stores.bindings.heads(ccsId);
    const lists = new Map<string, Promise<CcsBinding[]>>();
    return Promise.all(
      heads.map(async (head) => {
        if (head.digest === null || head.set === null) return { head, bindings: [] };
        let list = lists.get(head.digest);
        if (!list) {
          list = readHostBindings(this.stores, head);
          lists.set(head.digest, list);
        }
        return { head, bindings: await list };
      }),
    );
  }

  /** The sites that use CCS on the fleet, by site name (case-insensitively, as IIS names them). */
  async sitesUsingCcs(ccsId: string): Promise<CcsSite[]> {
    const sites = new Map<string, { site: string; hosts: Set<string>; hostNames: Set<string> }>();
    for (const { head, bindings } of await this.ofFleet(ccsId)) {
      for (const binding of bindings) {
        const key = binding.site.toLowerCase();
        const entry = sites.get(key) ?? { site: binding.site, hosts: new Set(), hostNames: new Set() };
        entry.hosts.add(head.host);
        if (binding.hostName !== '') entry.hostNames.add(binding.hostName);
        sites.set(key, entry);
      }
    }
    return [...sites.values()]
      .map((s) => ({ site: s.site, hosts: [...s.hosts].sort(), hostNames: [...s.hostNames].sort() }))
      .sort((a, b) => a.site.localeCompare(b.site));
  }

  /**
   * DELETE without `force`: 409 when sites of an enabled fleet still use CCS (disabling would take
   * their certificates away). Not enabled: nothing to refuse (DELETE stays idempotent); no
   * bindings known: as before issue 13.
   */
  async refuseDisableWhileSitesUseCcs(ccsId: string): Promise<void> {
    const current = await this.stores.desired.get(ccsId);
    if (!current?.record.desired.enabled) return;
    const sites = await this.sitesUsingCcs(ccsId);
    if (sites.length === 0) return;
    const shown = sites
      .slice(0, 5)
      .map((s) => `${s.site} (${s.hosts.slice(0, 5).join(', ')}${s.hosts.length > 5 ? ', …' : ''})`)
      .join(', ');
    const more = sites.length > 5 ? `, and ${sites.length - 5} more` : '';
    throw new DomainError(
      'conflict',
      'SitesUseCcs',
      `${sites.length} site${sites.length === 1 ? '' : 's'} still use the Central Certificate Store on this fleet: ${shown}${more}. Disabling it takes their certificates away; add ?force=true to disable it anyway`,
      'force',
      {
        sites: sites.slice(0, LISTED_SITES).map((s) => ({
          name: s.site,
          hosts: s.hosts.slice(0, LISTED_PER_SITE),
          host_names: s.hostNames.slice(0, LISTED_PER_SITE),
        })),
      },
    );
  }

  /** Each host's newest serving check. */
  latestServing(ccsId: string): Promise<ServingRecord[]> {
    return this.stores.serving.latestOfEach(ccsId);
  }

  /** The hosts' checks of one generation (e.g. the current one, for the resource's summary). */
  servingAt(ccsId: string, generation: number): Promise<ServingRecord[]> {
    return this.stores.serving.atGeneration(ccsId, generation);
  }

  /** The serving checks that belong to an operation (serving.ts, servingOfOperation). */
  async servingOf(op: OperationRecord, hosts: readonly OperationHostRecord[]): Promise<ServingRecord[]> {
    return servingOfOperation(
      op,
      hosts,
      await this.stores.serving.atGeneration(op.ccsId, op.targetGeneration),
    );
  }

  /**
   * A host's newest check before `generation`: what its sites served before the change that
   * brings that generation (with `bindingStatus`, per binding). Null when it never reported one.
   */
  servingBefore(ccsId: string, host: string, generation: number): Promise<ServingRecord | null> {
    return generation <= 1 ? Promise.resolve(null) : this.stores.serving.latest(ccsId, host, generation - 1);
  }
}
