import type { Allocation } from './events';
import { channelLocations, locationAvailable, type SkuState } from './state';

/**
 * Takes `quantity` from the channel's locations in their order, splitting when one is short.
 * `freed` adds units that releases decided in the same append will give back. Null when short.
 */
export function allocate(
  state: SkuState,
  locations: readonly string[] | null,
  quantity: number,
  freed?: ReadonlyMap<string, number>,
): Allocation[] | null {
  const allocations: Allocation[] = [];
  const seen = new Set<string>();
  let remaining = quantity;
  for (const location of channelLocations(state, locations)) {
    if (seen.has(location)) continue;
    seen.add(location);
    const available = locationAvailable(state.locations.get(location)) + (freed?.get(location) ?? 0);
    if (available <= 0) continue;
    const take = Math.min(available, remaining);
    allocations.push({ location, quantity: take });
    remaining -= take;
    if (remaining === 0) return allocations;
  }
  return null;
}

/** What a channel could take, counting units that pending releases give back. */
export function availableWith(
  state: SkuState,
  locations: readonly string[] | null,
  freed?: ReadonlyMap<string, number>,
): number {
  let total = 0;
  for (const location of new Set(channelLocations(state, locations))) {
    total += locationAvailable(state.locations.get(location)) + (freed?.get(location) ?? 0);
  }
  return total;
}
