import { EventTypes, skuStreamId } from '@ledger/domain';
import type { EventStore, RecordedEvent } from '@ledger/event-store';
import { DEFAULT_PAGE_SIZE, streamPages } from './event-pages';
import { figuresAtIn, foldLocationFigures, totalsOf, type FigureTotals, type LocationFigures } from './location-fold';
import { eventTime, isAtOrBefore, type Moment } from './moments';

export interface PeriodBalance extends FigureTotals {
  /** The last event included; -1 when none. */
  revision: number;
}

export interface Movements {
  /** Units received into stock. */
  receipts: number;
  /** Units that left on sales: committed holds and direct sales. */
  sales: { committed: number; direct: number; total: number };
  /** Returned units received for inspection (not sellable until inspected). */
  returnsReceived: number;
  /** Inspected returns put back into stock. */
  returnsRestocked: number;
  /** Inspected returns written off (they leave pending inspection, never on hand). */
  writeOffs: number;
  /** Counts and corrections: net change to on hand, with its parts and reasons. */
  adjustments: { net: number; increases: number; decreases: number; count: number; byReason: Record<string, number> };
}

export interface MovementReport {
  sku: string;
  /** Opening balance as of `from` (every event at or before it). */
  from: string;
  /** Closing balance as of `to`; movements are the events after `from` up to and including `to`. */
  to: string;
  opening: PeriodBalance;
  closing: PeriodBalance;
  movements: Movements;
  /** Events in the period. */
  events: number;
  /**
   * opening.onHand + receipts + returnsRestocked - sales.total + adjustments.net = closing.onHand,
   * with the movements summed from what the events say and the balances folded from the figures.
   */
  balanced: boolean;
  checks: {
    onHand: { opening: number; movements: number; expectedClosing: number; closing: number; difference: number };
    pendingInspection: { opening: number; movements: number; expectedClosing: number; closing: number; difference: number; balanced: boolean };
  };
}

/** Opening, movements by kind and closing for one SKU over (from, to]. */
export async function movementReport(store: EventStore, sku: string, from: Moment, to: Moment, pageSize = DEFAULT_PAGE_SIZE): Promise<MovementReport> {
  if (to.ms < from.ms) throw new RangeError('to must not be before from');
  const locations = new Map<string, LocationFigures>();
  const at = figuresAtIn(locations);
  const movements: Movements = {
    receipts: 0,
    sales: { committed: 0, direct: 0, total: 0 },
    returnsReceived: 0,
    returnsRestocked: 0,
    writeOffs: 0,
    adjustments: { net: 0, increases: 0, decreases: 0, count: 0, byReason: {} },
  };
  let opening: PeriodBalance | null = null;
  let revision = -1;
  let events = 0;
  scan: for await (const page of streamPages(store, skuStreamId(sku), { pageSize })) {
    for (const event of page) {
      const time = eventTime(event);
      if (!opening && !isAtOrBefore(time, from)) opening = { ...totalsOf(locations.values()), revision };
      if (opening && !isAtOrBefore(time, to)) break scan;
      foldLocationFigures(at, event.type, event.data);
      revision = event.revision;
      if (opening) {
        events += 1;
        count(movements, event);
      }
    }
  }
  opening ??= { ...totalsOf(locations.values()), revision };
  const closing: PeriodBalance = { ...totalsOf(locations.values()), revision };
  movements.sales.total = movements.sales.committed + movements.sales.direct;
  const onHandMoves = movements.receipts + movements.returnsRestocked - movements.sales.total + movements.adjustments.net;
  const pendingMoves = movements.returnsReceived - movements.returnsRestocked - movements.writeOffs;
  const onHand = { opening: opening.onHand, movements: onHandMoves, expectedClosing: opening.onHand + onHandMoves, closing: closing.onHand, difference: 0 };
  onHand.difference = onHand.closing - onHand.expectedClosing;
  const pending = {
    opening: opening.pendingInspection,
    movements: pendingMoves,
    expectedClosing: opening.pendingInspection + pendingMoves,
    closing: closing.pendingInspection,
    difference: 0,
    balanced: true,
  };
  pending.difference = pending.closing - pending.expectedClosing;
  pending.balanced = pending.difference === 0;
  return {
    sku,
    from: from.iso,
    to: to.iso,
    opening,
    closing,
    movements,
    events,
    balanced: onHand.difference === 0,
    checks: { onHand, pendingInspection: pending },
  };
}

function count(movements: Movements, event: RecordedEvent): void {
  const data = event.data as Record<string, unknown>;
  const quantity = (key: string) => (typeof data[key] === 'number' ? (data[key] as number) : 0);
  switch (event.type) {
    case EventTypes.StockReceived:
      movements.receipts += quantity('quantity');
      return;
    case EventTypes.ReservationCommitted:
      movements.sales.committed += quantity('quantity');
      return;
    case EventTypes.StockSold:
      movements.sales.direct += quantity('quantity');
      return;
    case EventTypes.ReturnReceived:
      movements.returnsReceived += quantity('quantity');
      return;
    case EventTypes.ReturnInspected:
      movements.returnsRestocked += quantity('restockQuantity');
      movements.writeOffs += quantity('writeOffQuantity');
      return;
    case EventTypes.StockAdjusted: {
      const delta = quantity('delta');
      const adjustments = movements.adjustments;
      adjustments.net += delta;
      if (delta > 0) adjustments.increases += delta;
      else adjustments.decreases -= delta;
      adjustments.count += 1;
      const reason = typeof data.reason === 'string' ? data.reason : 'unknown';
      adjustments.byReason[reason] = (adjustments.byReason[reason] ?? 0) + delta;
      return;
    }
  }
}
