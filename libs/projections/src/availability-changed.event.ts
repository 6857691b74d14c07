import type { AvailabilityChange } from './read-models/channel-availability.projection';

/** Published on the CQRS EventBus after the availability projection commits a batch that changed counts. */
export class AvailabilityChangedEvent {
  constructor(readonly changes: AvailabilityChange[]) {}
}
