import { SqliteEventStore } from '@ledger/event-store';
import { ProjectionRunner } from '../libs/projections/src/projection-runner';
import { openReadModelDb } from '../libs/projections/src/read-model-db';
import { ChannelAvailabilityProjection } from '../libs/projections/src/read-models/channel-availability.projection';
import { LocationStockProjection } from '../libs/projections/src/read-models/location-stock.projection';
import { ReservationsProjection } from '../libs/projections/src/read-models/reservations.projection';
import { ReturnsProjection } from '../libs/projections/src/read-models/returns.projection';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
const store = new SqliteEventStore({ path: process.argv[2] });
const noop = { name: 'noop', schema: () => '', tableNames: () => [], open: () => ({ apply() {} }) } as any;
const make: Record<string, () => any> = {
  noop: () => noop,
  availability: () => new ChannelAvailabilityProjection(),
  reservations: () => new ReservationsProjection(),
  returns: () => new ReturnsProjection(),
  location: () => new LocationStockProjection(),
};
(async () => {
  for (const batch of (process.env.BATCHES ?? '5000,50000').split(',').map(Number)) for (const name of (process.argv[3] ?? 'noop,availability,reservations,returns,location').split(',')) {
    const dir = mkdtempSync('/tmp/bq/exp-');
    const db = openReadModelDb(join(dir, 'p.db')); if (process.env.CACHE) db.pragma(`cache_size = -${process.env.CACHE}`); if (process.env.PRAGMA) db.pragma(process.env.PRAGMA);
    db.prepare("INSERT INTO projection_checkpoints (name, generation, position, active, updated_at) VALUES (?, 1, NULL, 1, 'x')").run(make[name]().name);
    const runner = new ProjectionRunner(make[name](), 1, db, store, {}, batch);
    const t = performance.now(); const c0 = process.cpuUsage();
    runner.start();
    await runner.whenCaughtUp();
    const s = (performance.now() - t) / 1000; const c = process.cpuUsage(c0); const cpu = (c.user + c.system) / 1e6;
    await runner.stop();
    console.log(name, batch, (100000 / s).toFixed(0), 'events/s', 'cpu us/event', (cpu * 1e6 / 100000).toFixed(2), 'rss', (process.memoryUsage.rss() / 1e6).toFixed(0));
    db.close(); rmSync(dir, { recursive: true });
  }
})();
