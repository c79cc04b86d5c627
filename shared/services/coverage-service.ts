/**
 * Coverage per ccs-id (`GET …/{ccs-id}/coverage`, the summary in the resource's GET, the expiry
 * and coverage alerts): the hosts' stored bindings against the inventory of the current share.
 */
import { coverageReport, type CoverageReport } from '../bindings/coverage-report.js';
import { storeIdOf } from '../certificates/rules.js';
import { assertCcsId } from '../names.js';
import type { InventoryLease } from '../model.js';
import type { BindingsService } from './bindings-service.js';
import { notEnabled } from './ccs-service.js';
import type { InventoryService, StoreState } from './inventory-service.js';

export interface FleetCoverage {
  ccsId: string;
  report: CoverageReport;
  /** The share's inventory (its status says whether coverage is current). */
  store: StoreState;
}

/** Whether a full scan of the current desired state completed (else coverage may be stale or empty). */
export function inventoryComplete(lease: InventoryLease, generation: number): boolean {
  return (
    lease.lastError === null && lease.completedFullSeq > 0 && lease.completedFullGeneration === generation
  );
}

export class CoverageService {
  constructor(
    private readonly bindings: Pick<BindingsService, 'ofFleet' | 'heads'>,
    private readonly inventory: Pick<InventoryService, 'store' | 'certificates' | 'stores' | 'options'>,
  ) {}

  /** The coverage of an enabled ccs-id; the seed's 404 when CCS is not enabled. */
  async coverage(ccsId: string): Promise<FleetCoverage> {
    const store = await this.inventory.store(storeIdOf(assertCcsId(ccsId)));
    if (!store) throw notEnabled();
    return this.of(store);
  }

  /**
   * The summary the resource's GET shows. A fleet without a reported CCS binding covers nothing
   * and leaves nothing uncovered, so the share's inventory is read only when there are bindings.
   */
  async summary(ccsId: string): Promise<CoverageReport['summary']> {
    const heads = await this.bindings.heads(ccsId);
    if (heads.every((head) => head.total === 0)) return { covered: 0, uncovered: 0, expiring: 0 };
    return (await this.coverage(ccsId)).report.summary;
  }

  /** Coverage of every enabled ccs-id (the alert timer). */
  async everyFleet(): Promise<FleetCoverage[]> {
    const stores = await this.inventory.stores();
    return Promise.all(stores.map((store) => this.of(store)));
  }

  private async of(store: StoreState): Promise<FleetCoverage> {
    const [hosts, files] = await Promise.all([
      this.bindings.ofFleet(store.ccsId),
      this.inventory.certificates({ storeId: store.id }),
    ]);
    return {
      ccsId: store.ccsId,
      report: coverageReport(hosts, files ?? [], this.inventory.options.warningDays),
      store,
    };
  }
}
