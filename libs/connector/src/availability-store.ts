import type { AvailabilityVersion } from './revision-rule';

export interface AppliedAvailability extends AvailabilityVersion {
  available: number;
}

/**
 * What a connector has applied per SKU, for the revision rule. The in-memory store forgets on
 * restart; a production connector keeps it where it survives one (a table, a key-value store) so an
 * old duplicate arriving after a restart is still recognised. Methods may be async.
 */
export interface AvailabilityStateStore {
  get(sku: string): Promise<AppliedAvailability | undefined> | AppliedAvailability | undefined;
  set(sku: string, value: AppliedAvailability): Promise<void> | void;
}

export class InMemoryAvailabilityStore implements AvailabilityStateStore {
  private readonly bySku = new Map<string, AppliedAvailability>();

  get(sku: string): AppliedAvailability | undefined {
    return this.bySku.get(sku);
  }

  set(sku: string, value: AppliedAvailability): void {
    this.bySku.set(sku, { ...value });
  }

  /** Everything applied so far, by SKU. */
  entries(): Map<string, AppliedAvailability> {
    return new Map(this.bySku);
  }
}
