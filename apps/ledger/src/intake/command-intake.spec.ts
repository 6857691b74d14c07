import { CommandBus } from '@nestjs/cqrs';
import request from 'supertest';
import { EVENT_STORE, EventStoreUnavailableError, type EventStore } from '@ledger/event-store';
import { Messaging } from '@ledger/relay';
import { eventually, Inbox } from '@ledger/relay/testing/fixtures';
import { startTestApp, type TestApp } from '@test/test-app';
import { CommandIntake } from './command-intake';
import type { CommandResultMessage, DeadLetterMessage } from './command-messages';

describe('command intake (in-process bus)', () => {
  let app: TestApp;
  let messaging: Messaging;
  let store: EventStore;
  let inbox: Inbox;
  let sent = 0;

  beforeAll(async () => {
    app = await startTestApp();
    messaging = app.app.get(Messaging);
    store = app.app.get(EVENT_STORE);
    await eventually(() => app.app.get(CommandIntake).running);
    inbox = await Inbox.on(messaging.bus, [messaging.topics.commandResults, messaging.topics.commandsDlq]);
    await request(app.url).put('/v1/channels/web').send({ locations: ['wh-1'] }).expect(200);
  });
  afterAll(async () => {
    await inbox.stop();
    await app.close();
  });

  const results = () => inbox.of(messaging.topics.commandResults) as unknown as { key: string; json: CommandResultMessage; headers: Record<string, string> }[];
  const deadLetters = () => inbox.of(messaging.topics.commandsDlq) as unknown as { key: string; json: DeadLetterMessage; headers: Record<string, string> }[];

  async function send(value: unknown, { key = 'SKU', headers = {} as Record<string, string>, raw = false } = {}): Promise<void> {
    sent += 1;
    await messaging.bus.publish([{ topic: messaging.topics.commands, key, value: raw ? (value as string | Buffer) : JSON.stringify(value), headers }]);
  }

  async function resultOf(commandId: string, count = 1): Promise<CommandResultMessage> {
    await eventually(() => results().filter((message) => message.key === commandId).length >= count);
    return results().filter((message) => message.key === commandId)[count - 1].json;
  }

  it('applies a command and answers on the results topic, recording the bus actor and correlation id', async () => {
    await send({ commandId: 'cmd-receive-1', type: 'ReceiveStock', sku: 'TEE', receiptId: 'rcpt-1', location: 'wh-1', quantity: 10 }, { key: 'TEE', headers: { 'correlation-id': 'order-77' } });
    const result = await resultOf('cmd-receive-1');
    expect(result).toEqual({ commandId: 'cmd-receive-1', status: 'accepted', result: { receiptId: 'rcpt-1', location: 'wh-1', quantity: 10 }, position: expect.any(Number) });
    expect(results().find((message) => message.key === 'cmd-receive-1')?.headers).toEqual({ 'correlation-id': 'order-77' });

    const { events } = await store.readStream('inventory-sku-TEE');
    expect(events).toHaveLength(1);
    expect(events[0].metadata).toMatchObject({ actor: 'kafka:in-process', role: 'service', commandId: 'cmd-receive-1', correlationId: 'order-77' });
    const availability = await request(app.url).get(`/v1/skus/TEE/availability?minPosition=${result.position}`).expect(200);
    expect(availability.body.channels).toEqual([expect.objectContaining({ channel: 'web', available: 10 })]);
  });

  it('answers a redelivered command with the first result and appends nothing', async () => {
    const command = { commandId: 'cmd-reserve-1', type: 'ReserveStock', sku: 'TEE', reservationId: 'hold-1', channel: 'web', quantity: 3 };
    await send(command);
    const first = await resultOf('cmd-reserve-1');
    expect(first).toMatchObject({ status: 'accepted', result: { reservationId: 'hold-1', status: 'held', quantity: 3 } });
    const head = await store.headPosition();

    await send(command);
    const second = await resultOf('cmd-reserve-1', 2);
    expect(second).toEqual(first);
    expect(await store.headPosition()).toBe(head);
    expect((await store.readStream('inventory-sku-TEE')).events.filter((event) => event.type === 'inventory.stock-reserved.v1')).toHaveLength(1);
  });

  it('takes every command type, with the ids the HTTP API carries in its URLs', async () => {
    const commands = [
      { commandId: 'all-1', type: 'ReceiveStock', sku: 'MUG', receiptId: 'm-r1', location: 'wh-1', quantity: 20, reference: 'PO-1' },
      { commandId: 'all-2', type: 'AdjustStock', sku: 'MUG', adjustmentId: 'm-a1', location: 'wh-1', delta: -1, reason: 'damage' },
      { commandId: 'all-3', type: 'ReserveStock', sku: 'MUG', reservationId: 'm-h1', channel: 'web', quantity: 2, ttlSeconds: 600, orderRef: 'o-1' },
      { commandId: 'all-4', type: 'CommitReservation', sku: 'MUG', reservationId: 'm-h1' },
      { commandId: 'all-5', type: 'ReserveStock', sku: 'MUG', reservationId: 'm-h2', channel: 'web', quantity: 1 },
      { commandId: 'all-6', type: 'ReleaseReservation', sku: 'MUG', reservationId: 'm-h2', reason: 'cancelled' },
      { commandId: 'all-7', type: 'SellStock', sku: 'MUG', saleId: 'm-s1', channel: 'web', quantity: 4 },
      { commandId: 'all-8', type: 'ReceiveReturn', sku: 'MUG', returnId: 'm-rt1', location: 'wh-1', quantity: 2 },
      { commandId: 'all-9', type: 'InspectReturn', sku: 'MUG', returnId: 'm-rt1', restockQuantity: 1, writeOffQuantity: 1 },
    ];
    for (const command of commands) await send(command, { key: 'MUG' });
    for (const command of commands) expect({ type: command.type, ...(await resultOf(command.commandId)) }).toMatchObject({ type: command.type, status: 'accepted' });
    const last = await resultOf('all-9');
    const availability = await request(app.url).get(`/v1/skus/MUG/availability?minPosition=${last.position}`).expect(200);
    // 20 - 1 damaged - 2 committed - 4 sold + 1 restocked
    expect(availability.body.channels).toEqual([expect.objectContaining({ channel: 'web', available: 14 })]);
  });

  it('answers a domain refusal with a rejected result, not a dead letter', async () => {
    const dlqBefore = deadLetters().length;
    await send({ commandId: 'cmd-too-much', type: 'ReserveStock', sku: 'TEE', reservationId: 'hold-big', channel: 'web', quantity: 1_000 });
    expect(await resultOf('cmd-too-much')).toEqual({ commandId: 'cmd-too-much', status: 'rejected', code: 'INSUFFICIENT_STOCK', message: expect.any(String) });
    await send({ commandId: 'cmd-no-hold', type: 'CommitReservation', sku: 'TEE', reservationId: 'no-such-hold' });
    expect(await resultOf('cmd-no-hold')).toMatchObject({ status: 'rejected', code: 'RESERVATION_NOT_FOUND' });
    expect(deadLetters()).toHaveLength(dlqBefore);
  });

  it('dead-letters malformed and invalid commands with the reason and the original bytes, and moves on', async () => {
    const before = deadLetters().length;
    const cases: { value: string; reason: string; field?: string; commandId?: string }[] = [
      { value: '{"commandId": "x", ', reason: 'not valid JSON' },
      { value: '', reason: 'not valid JSON' },
      { value: '[1, 2]', reason: 'not a JSON object' },
      { value: '"ReceiveStock"', reason: 'not a JSON object' },
      { value: JSON.stringify({ commandId: 'bad-type', type: 'StealStock', sku: 'TEE' }), reason: 'validation failed', field: 'type', commandId: 'bad-type' },
      { value: JSON.stringify({ commandId: 'bad-extra', type: 'ReceiveStock', sku: 'TEE', receiptId: 'r-x', location: 'wh-1', quantity: 1, price: 9 }), reason: 'validation failed', field: 'price', commandId: 'bad-extra' },
      { value: JSON.stringify({ commandId: 'bad-qty', type: 'ReceiveStock', sku: 'TEE', receiptId: 'r-y', location: 'wh-1', quantity: '5' }), reason: 'validation failed', field: 'quantity', commandId: 'bad-qty' },
      { value: JSON.stringify({ commandId: 'bad-sku', type: 'ReceiveStock', sku: '../etc', receiptId: 'r-z', location: 'wh-1', quantity: 1 }), reason: 'validation failed', field: 'sku', commandId: 'bad-sku' },
      { value: JSON.stringify({ type: 'ReceiveStock', sku: 'TEE', receiptId: 'r-w', location: 'wh-1', quantity: 1 }), reason: 'validation failed', field: 'commandId' },
      { value: '{"commandId": "bad-proto", "type": "CommitReservation", "sku": "TEE", "reservationId": "h", "__proto__": {"x": 1}}', reason: 'validation failed', field: '__proto__', commandId: 'bad-proto' },
      { value: JSON.stringify({ commandId: 'bad-commit', type: 'CommitReservation', sku: 'TEE' }), reason: 'validation failed', field: 'reservationId', commandId: 'bad-commit' },
    ];
    for (const { value } of cases) await send(value, { raw: true, key: 'TEE' });
    await send({ commandId: 'good-after-bad', type: 'ReceiveStock', sku: 'TEE', receiptId: 'rcpt-2', location: 'wh-1', quantity: 1 }, { key: 'TEE' });
    expect(await resultOf('good-after-bad')).toMatchObject({ status: 'accepted' });

    await eventually(() => deadLetters().length >= before + cases.length);
    const letters = deadLetters().slice(before);
    expect(letters).toHaveLength(cases.length);
    cases.forEach((expected, index) => {
      const letter = letters[index];
      expect(letter.key).toBe('TEE');
      expect(letter.headers['dlq-reason']).toBe(expected.reason);
      expect(letter.json).toMatchObject({ reason: expected.reason, topic: messaging.topics.commands, partition: expect.any(Number), offset: expect.stringMatching(/^\d+$/) });
      expect(Buffer.from(letter.json.original, 'base64').toString()).toBe(expected.value);
      if (expected.field) expect(letter.json.fields?.map((field) => field.field)).toContain(expected.field);
      else expect(letter.json.fields).toBeUndefined();
    });
    // A sender whose command id is readable also hears that its command was refused.
    expect(await resultOf('bad-extra')).toMatchObject({ status: 'rejected', code: 'VALIDATION_FAILED', message: expect.stringContaining('price') });
    expect(results().some((message) => message.key === undefined || message.key === null)).toBe(false);
  });

  it('retries while the store is unavailable (nothing lost), and dead-letters an unexpected error', async () => {
    const commandBus = app.app.get(CommandBus);
    const execute = jest.spyOn(commandBus, 'execute');
    execute.mockRejectedValueOnce(new EventStoreUnavailableError('store down (simulated)'));
    await send({ commandId: 'cmd-retry', type: 'ReceiveStock', sku: 'CAP', receiptId: 'cap-1', location: 'wh-1', quantity: 2 }, { key: 'CAP' });
    expect(await resultOf('cmd-retry')).toMatchObject({ status: 'accepted' });
    expect(results().filter((message) => message.key === 'cmd-retry')).toHaveLength(1);

    const before = deadLetters().length;
    execute.mockRejectedValueOnce(new Error('a bug (simulated)'));
    await send({ commandId: 'cmd-bug', type: 'ReceiveStock', sku: 'CAP', receiptId: 'cap-2', location: 'wh-1', quantity: 2 }, { key: 'CAP' });
    expect(await resultOf('cmd-bug')).toMatchObject({ status: 'rejected', code: 'INTERNAL' });
    await eventually(() => deadLetters().length === before + 1);
    expect(deadLetters()[before].json).toMatchObject({ reason: 'internal error', topic: messaging.topics.commands });
    execute.mockRestore();

    const metrics = await request(app.url).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/ledger_intake_commands_total\{type="ReceiveStock",outcome="retried"\} 1/);
    expect(metrics.text).toMatch(/ledger_intake_commands_total\{type="ReserveStock",outcome="duplicate"\} 1/);
    expect(metrics.text).toMatch(/ledger_intake_commands_total\{type="ReserveStock",outcome="rejected"\} 1/);
    expect(metrics.text).toMatch(/ledger_intake_dead_letters_total\{reason="internal error"\} 1/);
    expect(metrics.text).toMatch(/ledger_intake_dead_letters_total\{reason="validation failed"\} \d+/);
    expect(sent).toBeGreaterThan(0);
  });
});
