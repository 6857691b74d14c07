import Database from 'better-sqlite3';
import * as fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventTypes, skuStreamId } from '@ledger/domain';
import { SqliteEventStore, type EventStore } from '@ledger/event-store';
import { exportEvents, verifyExportFile, verifyExportLines, type ExportRecord } from './export';
import { chainHash, envelope } from '@ledger/ledger-model';
import { momentFromMs } from './moments';
import { T0, historyFrom, opsArbitrary, writeChannels, writeHistory, type Op } from './testing/random-history';
import { verifyStore } from './verify';

const at = (seconds: number) => T0 + seconds * 1000;
const ops = (kinds: Op['kind'][]): Op[] => kinds.map((kind, index) => ({ kind, location: index % 2, quantity: 5, pick: index, channel: 0, advance: 10 }));
const SCRIPT = ops(['receive', 'receive', 'reserve', 'commit', 'reserve', 'sell', 'return', 'inspect', 'count', 'reserve', 'release', 'delta']);

async function ledger(): Promise<EventStore> {
  const store = new SqliteEventStore({ path: ':memory:' });
  await writeChannels(store);
  await writeHistory(store, 'SKU-1', historyFrom(SCRIPT).steps);
  await writeHistory(store, 'SKU-2', historyFrom(SCRIPT, at(5)).steps);
  await writeHistory(store, 'SKU-1', historyFrom(ops(['receive', 'reserve']), at(500), 'late-').steps);
  return store;
}

async function exportLines(store: EventStore, options = {}): Promise<string[]> {
  let text = '';
  for await (const chunk of exportEvents(store, { pageSize: 7, ...options })) text += chunk;
  return text.split('\n').filter(Boolean);
}

const parse = (line: string) => JSON.parse(line) as ExportRecord;

describe('verify', () => {
  let store: EventStore;
  let lines: string[];
  beforeAll(async () => {
    store = await ledger();
    lines = await exportLines(store);
  });
  afterAll(() => store.close());

  it('passes a clean ledger, live and from its export', async () => {
    const live = await verifyStore(store, { pageSize: 5 });
    expect(live).toMatchObject({ ok: true, source: 'store', totalBreaks: 0, firstBreak: null, events: lines.length, skuStreams: 2, streams: 3, partialStreams: [] });
    const one = await verifyStore(store, { sku: 'SKU-2' });
    expect(one).toMatchObject({ ok: true, sku: 'SKU-2', streams: 1 });
    const offline = await verifyExportLines(lines);
    expect(offline).toMatchObject({ ok: true, source: 'file', events: lines.length, partialStreams: [] });
  });

  it('passes random clean histories', async () => {
    await fc.assert(
      fc.asyncProperty(opsArbitrary(40), async (random) => {
        const memory = new SqliteEventStore({ path: ':memory:' });
        await writeHistory(memory, 'R', historyFrom(random).steps);
        const report = await verifyStore(memory);
        await memory.close();
        expect(report.breaks).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('pinpoints changed data with the expected and found hash', async () => {
    const index = 6;
    const original = parse(lines[index]);
    const altered = { ...original, data: { ...original.data, quantity: 999 } };
    const tampered = [...lines];
    tampered[index] = JSON.stringify(altered);
    const report = await verifyExportLines(tampered);
    expect(report.ok).toBe(false);
    expect(report.totalBreaks).toBe(1);
    expect(report.firstBreak).toEqual({
      kind: 'hash-mismatch',
      streamId: original.streamId,
      sku: 'SKU-1',
      revision: original.revision,
      position: original.position,
      eventId: original.id,
      line: index + 1,
      expectedHash: chainHash(original.metadata.prevHash as string, altered),
      foundHash: original.metadata.hash,
      message: expect.stringContaining('changed'),
    });
  });

  it('pinpoints a removed event at the next event of its stream', async () => {
    const index = 5;
    const removed = parse(lines[index]);
    const tampered = lines.filter((_, i) => i !== index);
    const next = tampered.map(parse).find((event, i) => i >= index && event.streamId === removed.streamId) as ExportRecord;
    const report = await verifyExportLines(tampered);
    expect(report.firstBreak).toMatchObject({
      kind: 'revision-gap',
      streamId: removed.streamId,
      revision: removed.revision + 1,
      expectedRevision: removed.revision,
      eventId: next.id,
      position: next.position,
    });
    expect(report.totalBreaks).toBe(1);
  });

  it('pinpoints a removed event whose successor was re-linked: the link to the one before breaks', async () => {
    // A forger removes revision k and renumbers the rest: revisions look fine, the hash chain does not.
    const streamLines = lines.map(parse).filter((event) => event.streamId === skuStreamId('SKU-2'));
    const [first, second, third, ...rest] = streamLines;
    const forged = [first, { ...third, revision: second.revision }, ...rest.map((event) => ({ ...event, revision: event.revision - 1 }))];
    const report = await verifyExportLines(forged.map((event) => JSON.stringify(event)));
    expect(report.firstBreak).toMatchObject({ kind: 'broken-link', revision: second.revision, eventId: third.id, expectedHash: first.metadata.hash, foundHash: second.metadata.hash });
  });

  it('pinpoints reordered events of one stream, and of two streams', async () => {
    const events = lines.map(parse);
    const i = events.findIndex((event, k) => event.revision > 0 && events[k + 1]?.streamId === event.streamId);
    const swapped = [...lines];
    [swapped[i], swapped[i + 1]] = [swapped[i + 1], swapped[i]];
    const report = await verifyExportLines(swapped);
    expect(report.firstBreak).toMatchObject({ kind: 'revision-gap', eventId: events[i + 1].id, revision: events[i].revision + 1, expectedRevision: events[i].revision, line: i + 1 });

    const j = events.findIndex((event, k) => k > 2 && events[k + 1] && events[k + 1].streamId !== event.streamId);
    const crossed = [...lines];
    [crossed[j], crossed[j + 1]] = [crossed[j + 1], crossed[j]];
    const second = await verifyExportLines(crossed);
    expect(second.firstBreak).toMatchObject({ kind: 'position-order', eventId: events[j].id, position: events[j].position, expectedPositionAfter: events[j + 1].position, line: j + 2 });
  });

  it('pinpoints an event rewritten with a fresh hash at the link after it', async () => {
    const index = 7;
    const original = parse(lines[index]);
    const data = { ...original.data, quantity: 1 };
    const metadata = { ...original.metadata, hash: chainHash(original.metadata.prevHash as string, { type: original.type, data, metadata: original.metadata }) };
    const tampered = [...lines];
    tampered[index] = JSON.stringify({ ...original, data, metadata });
    const report = await verifyExportLines(tampered);
    const next = lines.map(parse).find((event, k) => k > index && event.streamId === original.streamId) as ExportRecord;
    expect(report.firstBreak).toMatchObject({ kind: 'broken-link', eventId: next.id, expectedHash: metadata.hash, foundHash: original.metadata.hash });
  });

  it('finds an invariant broken by correctly hashed events', async () => {
    const memory = new SqliteEventStore({ path: ':memory:' });
    const streamId = skuStreamId('BAD');
    const context = { commandId: 'c', actor: 'ops-1', role: 'ops', correlationId: 'c' };
    const first = envelope(streamId, { type: EventTypes.StockReceived, data: { receiptId: 'r', location: 'A', quantity: 2, reference: null } }, context, T0, '0'.repeat(64));
    const second = envelope(
      streamId,
      { type: EventTypes.StockSold, data: { saleId: 's', channel: 'web', quantity: 3, allocations: [{ location: 'A', quantity: 3 }] } },
      context,
      T0,
      first.metadata.hash as string,
    );
    await memory.appendToStream(streamId, [first, second], { expectedRevision: 'no_stream' });
    const report = await verifyStore(memory);
    expect(report.firstBreak).toMatchObject({ kind: 'invariant', streamId, revision: 1, invariant: { location: 'A', field: 'onHand', value: -1, rule: 'onHand must never be negative' } });
    await memory.close();
  });

  it('verifies a time-range export from mid-chain, and says what it could not prove', async () => {
    const partial = await exportLines(store, { from: momentFromMs(at(45)), to: momentFromMs(at(100)) });
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(lines.length);
    const report = await verifyExportLines(partial);
    expect(report.ok).toBe(true);
    expect(report.partialStreams.map((stream) => stream.streamId).sort()).toEqual([skuStreamId('SKU-1'), skuStreamId('SKU-2')]);
    expect(report.notes.join(' ')).toMatch(/mid-chain.*prevHash/);
    // The first event's link is taken on trust: changing it is found only against the store.
    const tampered = [...partial];
    const firstOfStream = parse(partial[0]);
    tampered[0] = JSON.stringify({ ...firstOfStream, data: { ...firstOfStream.data, quantity: 42 } });
    expect((await verifyExportLines(tampered)).firstBreak).toMatchObject({ kind: 'hash-mismatch', eventId: firstOfStream.id });
  });

  it('reports malformed lines by number', async () => {
    const report = await verifyExportLines([lines[0], '{not json', '', JSON.stringify({ id: 'x' })]);
    expect(report.breaks.map((b) => [b.kind, b.line])).toEqual([
      ['malformed', 2],
      ['malformed', 4],
    ]);
    expect(report.breaks[1].message).toMatch(/streamId/);
  });

  it('verifies an export file, and a live store whose file was altered underneath', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-verify-'));
    try {
      writeFileSync(join(dir, 'export.jsonl'), `${lines.join('\n')}\n`);
      expect(await verifyExportFile(join(dir, 'export.jsonl'))).toMatchObject({ ok: true, events: lines.length });
      await expect(verifyExportFile(join(dir, 'missing.jsonl'))).rejects.toThrow(/ENOENT/);

      const path = join(dir, 'ledger.db');
      const onDisk = new SqliteEventStore({ path });
      await writeHistory(onDisk, 'SKU-1', historyFrom(SCRIPT).steps);
      await onDisk.close();
      const db = new Database(path);
      const row = db.prepare('SELECT position, event_id, data FROM events WHERE revision = 3').get() as { position: number; event_id: string; data: string };
      db.prepare('UPDATE events SET data = ? WHERE position = ?').run(row.data.replace(/"quantity":\d+/, '"quantity":77'), row.position);
      db.close();
      const reopened = new SqliteEventStore({ path });
      const report = await verifyStore(reopened);
      await reopened.close();
      expect(report.firstBreak).toMatchObject({ kind: 'hash-mismatch', revision: 3, position: row.position, eventId: row.event_id });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
