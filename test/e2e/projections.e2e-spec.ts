import { CommandBus } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { ManualClock } from '@ledger/platform';
import { ProjectionManager, type ProjectionName } from '@ledger/projections';
import { foldLedger, readWholeLedger, type LedgerFold } from '../support/ledger-fold';
import { runRandomHistory } from '../support/random-history';
import { startTestApp, type TestApp } from '../support/test-app';

const shape = { skus: 25, locations: ['wh-a', 'wh-b', 'store-c'], channels: ['amazon', 'flipkart', 'shopify', 'b2b'], commands: 2_500 };
const NAMES: ProjectionName[] = ['channel-availability', 'reservations', 'returns', 'location-stock'];

/** Everything each read model holds, in a stable order, for exact comparison. */
function snapshot(projections: ProjectionManager) {
  return {
    availability: projections.availability().all(),
    reservations: projections.reservations().all(),
    returns: projections.returns().all(),
    locationStock: projections.locationStock().all(),
  };
}

function expectEqualToFold(view: ReturnType<typeof snapshot>, fold: LedgerFold): void {
  const byKey = <T>(rows: T[], key: (row: T) => string) => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  expect(byKey(view.availability.map(({ sku, channel, available, revision }) => ({ sku, channel, available, revision })), (r) => `${r.sku}|${r.channel}`)).toEqual(
    byKey(fold.availability, (r) => `${r.sku}|${r.channel}`),
  );
  expect(byKey(view.reservations.map(({ sku, reservationId, status, quantity, channel }) => ({ sku, reservationId, status, quantity, channel })), (r) => `${r.sku}|${r.reservationId}`)).toEqual(
    byKey(fold.reservations, (r) => `${r.sku}|${r.reservationId}`),
  );
  expect(byKey(view.returns.map(({ sku, returnId, status, quantity }) => ({ sku, returnId, status, quantity })), (r) => `${r.sku}|${r.returnId}`)).toEqual(
    byKey(fold.returns, (r) => `${r.sku}|${r.returnId}`),
  );
  expect(
    byKey(view.locationStock.map(({ sku, location, onHand, reserved, available, pendingInspection }) => ({ sku, location, onHand, reserved, available, pendingInspection })), (r) => `${r.sku}|${r.location}`),
  ).toEqual(byKey(fold.locationStock, (r) => `${r.sku}|${r.location}`));
}

async function caughtUp(app: TestApp): Promise<void> {
  const store = app.app.get<EventStore>(EVENT_STORE);
  const projections = app.app.get(ProjectionManager);
  const head = (await store.headPosition()) ?? 0;
  for (const name of NAMES) expect(await projections.waitForPosition(name, head, 10_000)).toBe(true);
}

describe('projections', () => {
  jest.setTimeout(120_000);

  it('built live, rebuilt from zero and folded from the ledger are the same, across a restart', async () => {
    const clock = new ManualClock();
    let app = await startTestApp({ clock });
    await runRandomHistory(app.app.get(CommandBus), clock, { ...shape, commands: shape.commands / 2 }, 1, 'first');
    await app.close({ keepData: true });

    app = await startTestApp({ clock, dataDir: app.dataDir });
    await runRandomHistory(app.app.get(CommandBus), clock, { ...shape, commands: shape.commands / 2 }, 2, 'second');
    await caughtUp(app);
    const projections = app.app.get(ProjectionManager);
    const live = snapshot(projections);
    const fold = foldLedger(await readWholeLedger(app.app.get(EVENT_STORE)));
    expect(live.reservations.length).toBeGreaterThan(100);
    expectEqualToFold(live, fold);

    for (const name of NAMES) await projections.rebuild(name).done;
    await caughtUp(app);
    expect(snapshot(projections)).toEqual(live);
    await app.close();
  });

  it('a rebuild while writes continue loses nothing and ends equal to the live state', async () => {
    const clock = new ManualClock();
    const app = await startTestApp({ clock });
    const bus = app.app.get(CommandBus);
    await runRandomHistory(bus, clock, { ...shape, commands: 800 }, 3, 'before');
    const projections = app.app.get(ProjectionManager);
    const rebuilds = NAMES.map((name) => projections.rebuild(name).done);
    await runRandomHistory(bus, clock, { ...shape, commands: 800 }, 4, 'during');
    await Promise.all(rebuilds);
    await runRandomHistory(bus, clock, { ...shape, commands: 100 }, 5, 'after');
    await caughtUp(app);
    expectEqualToFold(snapshot(projections), foldLedger(await readWholeLedger(app.app.get(EVENT_STORE))));
    const status = await projections.status();
    expect(status.every((s) => s.generation === 2 && s.state === 'running')).toBe(true);
    await app.close();
  });
});
