import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Parser, type AsyncAPIDocumentInterface, type MessageInterface } from '@asyncapi/parser';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { getMetadataStorage } from 'class-validator';
import { TOPIC_BASE_NAMES, type IncomingMessage, type Subscription } from '@ledger/bus';
import { EventTypes } from '@ledger/domain';
import { EVENT_STORE, type EventStore, type RecordedEvent } from '@ledger/event-store';
import { ProjectionManager } from '@ledger/projections';
import { AvailabilityRelay, LedgerRelay, Messaging, availabilityMessage, ledgerEventMessage } from '@ledger/relay';
import {
  AdjustStockMessage,
  COMMAND_TYPES,
  CommitReservationMessage,
  InspectReturnMessage,
  MESSAGE_CLASSES,
  ReceiveReturnMessage,
  ReceiveStockMessage,
  ReleaseReservationMessage,
  ReserveStockMessage,
  SellStockMessage,
} from '@app/ledger/intake/command-messages';
import { CommandIntake } from '@app/ledger/intake/command-intake';
import { eventually, Inbox } from '@ledger/relay/testing/fixtures';
import { createClient, type HttpClient } from '@test/http';
import { startTestApp, type TestApp } from '@test/test-app';
import { readTopicSettings } from '@test/kafka/topics';

const ROOT = resolve(__dirname, '..', '..');
const DOCUMENT = join(ROOT, 'docs', 'asyncapi.yaml');

type Topic = keyof typeof TOPIC_BASE_NAMES;
type Json = Record<string, any>;

/**
 * Per topic, what the key of a message must be, given its value. A topic added to
 * libs/bus/src/topics.ts fails the test until it is here and in docs/asyncapi.yaml.
 */
const KEY_OF: Record<Topic, (value: Json, original?: { key: string }) => string> = {
  ledger: (value) => value.sku ?? 'inventory-channels',
  availability: (value) => `${value.channel}:${value.sku}`,
  commands: (value) => value.sku,
  commandResults: (value) => value.commandId,
  commandsDlq: (_value, original) => original?.key ?? '',
};

/** A command message built from the intake's own class: the compiler holds the fields to the class. */
function command<T extends object>(Class: new () => T, fields: T): T {
  return Object.assign(new Class(), fields);
}

const SKU = 'API-1';
const COMMANDS = [
  command(ReceiveStockMessage, { commandId: 'c-receive', type: 'ReceiveStock', sku: SKU, receiptId: 'grn-9', location: 'wh-2', quantity: 6, reference: 'PO 77' }),
  command(ReserveStockMessage, { commandId: 'c-reserve', type: 'ReserveStock', sku: SKU, reservationId: 'k-hold-1', channel: 'web', quantity: 2, ttlSeconds: 600, orderRef: 'o-9' }),
  command(CommitReservationMessage, { commandId: 'c-commit', type: 'CommitReservation', sku: SKU, reservationId: 'k-hold-1' }),
  command(ReserveStockMessage, { commandId: 'c-reserve-2', type: 'ReserveStock', sku: SKU, reservationId: 'k-hold-2', channel: 'web', quantity: 1 }),
  command(ReleaseReservationMessage, { commandId: 'c-release', type: 'ReleaseReservation', sku: SKU, reservationId: 'k-hold-2', reason: 'cancelled' }),
  command(SellStockMessage, { commandId: 'c-sell', type: 'SellStock', sku: SKU, saleId: 'k-sale-1', channel: 'web', quantity: 1 }),
  command(ReceiveReturnMessage, { commandId: 'c-return', type: 'ReceiveReturn', sku: SKU, returnId: 'k-rto-1', location: 'wh-2', quantity: 2, orderRef: 'o-9', channel: 'web' }),
  command(InspectReturnMessage, { commandId: 'c-inspect', type: 'InspectReturn', sku: SKU, returnId: 'k-rto-1', restockQuantity: 1, writeOffQuantity: 1 }),
  command(AdjustStockMessage, { commandId: 'c-adjust', type: 'AdjustStock', sku: SKU, adjustmentId: 'k-count-1', location: 'wh-2', countedQuantity: 1, reason: 'cycle_count' }),
  command(AdjustStockMessage, { commandId: 'c-delta', type: 'AdjustStock', sku: SKU, adjustmentId: 'k-delta-1', location: 'wh-2', delta: 3, reason: 'correction' }),
  // Refused by the domain: a rejected result, not a dead letter.
  command(SellStockMessage, { commandId: 'c-oversell', type: 'SellStock', sku: SKU, saleId: 'k-sale-2', channel: 'web', quantity: 500 }),
];

/** Commands the intake refuses as invalid: the document's schema must refuse each as well. */
const INVALID_COMMANDS: Json[] = [
  { commandId: 'bad-1', type: 'ReceiveStock', sku: SKU, receiptId: 'r-x', location: 'wh-1', quantity: 0 },
  { commandId: 'bad-2', type: 'ReceiveStock', sku: SKU, receiptId: 'r-x', location: 'wh-1', quantity: 1, colour: 'red' },
  { commandId: 'bad-3', type: 'AdjustStock', sku: SKU, adjustmentId: 'a-x', location: 'wh-1', countedQuantity: 1, delta: 1, reason: 'damage' },
  { commandId: 'bad-4', type: 'AdjustStock', sku: SKU, adjustmentId: 'a-x', location: 'wh-1', reason: 'damage' },
  { commandId: 'bad-5', type: 'ReserveStock', sku: SKU, reservationId: 'has space', channel: 'web', quantity: 1 },
  { commandId: 'bad-6', type: 'InspectReturn', sku: SKU, returnId: 'x', restockQuantity: 1 },
  { commandId: 'bad-7', type: 'Frobnicate', sku: SKU },
  { commandId: 'bad-8', type: 'ReleaseReservation', sku: SKU, reservationId: 'h', reason: 'bored' },
];
const UNREADABLE = ['{"commandId": "half', '[1, 2]', ''];

function parsedOrNull(value: Buffer | null): Json {
  try {
    return JSON.parse(value?.toString('utf8') ?? '');
  } catch {
    return {};
  }
}

describe('docs/asyncapi.yaml', () => {
  let document: AsyncAPIDocumentInterface;
  let testApp: TestApp;
  let http: HttpClient;
  let messaging: Messaging;
  let store: EventStore;
  let inbox: Inbox<Json>;
  let commandsTaken: Subscription | null = null;
  const taken: (IncomingMessage & { json: Json })[] = [];
  // strictRequired off: a oneOf branch may require a property the parent schema defines.
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  // What @asyncapi/parser adds to every schema it resolved.
  for (const keyword of ['x-parser-schema-id', 'x-parser-unique-object-id']) ajv.addKeyword(keyword);
  const compiled = new WeakMap<object, ValidateFunction>();
  const errorsOf = (found: unknown, value: unknown): string[] | null => {
    if (typeof found !== 'object' || found === null) return ['no schema in the document'];
    const schema = found as object;
    let validate = compiled.get(schema);
    if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
    return validate(value) ? null : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
  };

  beforeAll(async () => {
    const { document: parsed, diagnostics } = await new Parser().parse(readFileSync(DOCUMENT, 'utf8'));
    // Errors and warnings both fail: the document is for people, and a warning is something they trip on.
    expect(diagnostics.filter((diagnostic) => diagnostic.severity <= 1).map((diagnostic) => `${diagnostic.path.join('.')}: ${diagnostic.message}`)).toEqual([]);
    document = parsed as AsyncAPIDocumentInterface;

    testApp = await startTestApp();
    http = createClient(testApp.url);
    messaging = testApp.app.get(Messaging);
    store = testApp.app.get(EVENT_STORE);
    const { commands, ...sent } = messaging.topics;
    inbox = await Inbox.on<Json>(messaging.bus, Object.values(sent));
    // The commands topic carries values that are not JSON on purpose: kept raw, parsed where they can be.
    commandsTaken = await messaging.bus.subscribe({
      groupId: 'asyncapi-contract',
      topics: [commands],
      fromBeginning: true,
      handler: async (message) => {
        taken.push({ ...message, json: parsedOrNull(message.value) });
      },
    });
    await eventually(() => testApp.app.get(CommandIntake).running);

    // Every event type, from HTTP and from the bus, and every kind of answer the intake gives.
    expect((await http.put('/v1/channels/web', { locations: ['wh-1', 'wh-2'] })).status).toBe(200);
    expect((await http.put('/v1/channels/b2b', { locations: [] })).status).toBe(200);
    expect((await http.post(`/v1/skus/${SKU}/receipts`, { receiptId: 'grn-1', location: 'wh-1', quantity: 10 })).status).toBe(201);
    expect((await http.post(`/v1/skus/${SKU}/reservations`, { reservationId: 'h-1', channel: 'web', quantity: 8, ttlSeconds: 3600 })).status).toBe(201);
    // A count below what is held: StockShortageDetected.
    expect((await http.post(`/v1/skus/${SKU}/adjustments`, { adjustmentId: 'count-1', location: 'wh-1', countedQuantity: 5, reason: 'cycle_count' })).status).toBe(201);
    for (const message of COMMANDS) await publish(message.sku, JSON.stringify(message), { 'correlation-id': `corr-${message.commandId}` });
    for (const invalid of INVALID_COMMANDS) await publish(SKU, JSON.stringify(invalid));
    for (const value of UNREADABLE) await publish(SKU, value);

    const answered = COMMANDS.length + INVALID_COMMANDS.length;
    await eventually(() => taken.length === COMMANDS.length + INVALID_COMMANDS.length + UNREADABLE.length && inbox.of(messaging.topics.commandResults).length >= answered && inbox.of(messaging.topics.commandsDlq).length >= INVALID_COMMANDS.length + UNREADABLE.length, { timeoutMs: 20_000 });
    const relays = [testApp.app.get(LedgerRelay), testApp.app.get(AvailabilityRelay)];
    await eventually(async () => (await Promise.all(relays.map((relay) => relay.status()))).every((status) => status.lagPositions === 0 && status.state === 'live'), { timeoutMs: 20_000 });
  });

  afterAll(async () => {
    await inbox?.stop();
    await commandsTaken?.stop();
    http?.close();
    await testApp?.close();
  });

  async function publish(key: string, value: string, headers: Record<string, string> = {}): Promise<void> {
    await messaging.bus.publish([{ topic: messaging.topics.commands, key, value, headers }]);
  }

  /** The document's message for a value on a topic: by `type` on the commands topic, else the channel's only one. */
  function messageFor(topic: Topic, value: Json): MessageInterface | undefined {
    const channel = document.channels().all().find((each) => each.address() === TOPIC_BASE_NAMES[topic]);
    const messages = channel?.messages().all() ?? [];
    return topic === 'commands' ? messages.find((message) => message.name() === value.type) : messages.length === 1 ? messages[0] : undefined;
  }

  /** Every problem of one message against the document: payload, headers, key and how the key follows from the value. */
  function problems(topic: Topic, message: { key: string | null; value: Json; headers?: Record<string, string> }, original?: { key: string }): Json {
    const described = messageFor(topic, message.value);
    const headers = message.headers ?? {};
    const headerSchema = described?.headers()?.json();
    return {
      payload: errorsOf(described?.payload()?.json(), message.value),
      headers: headerSchema ? errorsOf(headerSchema, headers) : Object.keys(headers).length ? ['headers the document does not describe'] : null,
      key: errorsOf(described?.bindings().get('kafka')?.value().key, message.key),
      keyFollowsValue: message.key === KEY_OF[topic](message.value, original) ? null : `${message.key} is not ${KEY_OF[topic](message.value, original)}`,
    };
  }
  const NONE = { payload: null, headers: null, key: null, keyFollowsValue: null };

  it('describes every topic the code names, with the settings deploy/kafka/create-topics.sh creates it with (topics.txt)', () => {
    expect(document.channels().all().map((channel) => channel.address()).sort()).toEqual(Object.values(TOPIC_BASE_NAMES).sort());
    const settings = readTopicSettings();
    expect(Object.keys(settings.configs).sort()).toEqual(Object.values(TOPIC_BASE_NAMES).sort());
    for (const [name, { 'min.insync.replicas': _minInsync, ...topicSettings }] of Object.entries(settings.configs)) {
      const configuration: Json = {};
      for (const [key, value] of Object.entries(topicSettings)) configuration[key] = key === 'cleanup.policy' ? value.split(',') : Number(value);
      const binding = document.channels().all().find((channel) => channel.address() === name)?.bindings().get('kafka')?.value();
      expect({ name, binding }).toEqual({ name, binding: { topic: name, replicas: settings.replicationFactor, topicConfiguration: configuration } });
    }
    // Each topic is written or read by an operation of the ledger.
    const operated = new Set(document.operations().all().flatMap((operation) => operation.channels().all().map((channel) => channel.address())));
    expect([...operated].sort()).toEqual(Object.values(TOPIC_BASE_NAMES).sort());
  });

  it('has a payload schema for every event type, and the running app sent each of them as described', () => {
    const sent = inbox.of(messaging.topics.ledger);
    expect([...new Set(sent.map((message) => message.json.type))].sort()).toEqual(Object.values(EventTypes).sort());
    for (const message of sent) expect({ type: message.json.type, ...problems('ledger', { key: message.key, value: message.json, headers: message.headers }) }).toEqual({ type: message.json.type, ...NONE });
    expect(sent.map((message) => message.headers)).toEqual(sent.map((message) => ({ 'event-id': message.json.eventId, 'event-type': message.json.type, 'correlation-id': message.json.metadata.correlationId })));
  });

  it('holds for what ledgerEventMessage and availabilityMessage build from the whole ledger', async () => {
    const events: RecordedEvent[] = await store.readAll({ maxCount: 10_000 });
    expect(events.length).toBeGreaterThan(15);
    for (const event of events) {
      const built = ledgerEventMessage(TOPIC_BASE_NAMES.ledger, event);
      expect(problems('ledger', { key: built.key, value: JSON.parse(String(built.value)), headers: built.headers })).toEqual(NONE);
    }
    const changes = [...(testApp.app.get(ProjectionManager).availability().changesAfter(-1) ?? [])];
    expect(changes.length).toBeGreaterThan(5);
    for (const change of changes) {
      const built = availabilityMessage(TOPIC_BASE_NAMES.availability, change, new Date().toISOString());
      expect(problems('availability', { key: built.key, value: JSON.parse(String(built.value)), headers: built.headers })).toEqual(NONE);
    }
  });

  it('per key, ledger events come in revision order and availability by (revision, position)', () => {
    const perKey = (topic: string) => {
      const keys = new Map<string, Json[]>();
      for (const message of inbox.of(topic)) keys.set(message.key as string, [...(keys.get(message.key as string) ?? []), message.json]);
      return keys;
    };
    for (const [key, values] of perKey(messaging.topics.ledger)) {
      expect({ key, revisions: values.map((value) => value.revision) }).toEqual({ key, revisions: values.map((_value, index) => index) });
    }
    const availability = perKey(messaging.topics.availability);
    expect([...availability.keys()].sort()).toEqual([`b2b:${SKU}`, `web:${SKU}`]);
    for (const [key, values] of availability) {
      for (let index = 1; index < values.length; index++) {
        const [before, after] = [values[index - 1], values[index]];
        // The connector contract: each later message is newer by (revision, position), so none is dropped.
        expect({ key, newer: after.revision > before.revision || (after.revision === before.revision && after.position > before.position) }).toEqual({ key, newer: true });
      }
      for (const value of values) expect(problems('availability', { key, value, headers: {} })).toEqual(NONE);
    }
  });

  it('describes each command as its message class validates it', () => {
    for (const type of COMMAND_TYPES) {
      const schema = messageFor('commands', { type })?.payload()?.json() as Json;
      const metadata = getMetadataStorage().getTargetValidationMetadatas(MESSAGE_CLASSES[type], '', true, false);
      const fields = [...new Set(metadata.map((each) => each.propertyName))].sort();
      const optional = new Set(metadata.filter((each) => each.type === 'conditionalValidation').map((each) => each.propertyName));
      expect({ type, fields: Object.keys(schema.properties).sort(), required: [...schema.required].sort() }).toEqual({
        type,
        fields,
        required: fields.filter((field) => !optional.has(field)),
      });
    }
  });

  it('takes every command the message classes build, and refuses in the schema what the intake refuses', () => {
    expect(new Set(COMMANDS.map((message) => message.type))).toEqual(new Set(COMMAND_TYPES));
    const sent = taken;
    expect(sent).toHaveLength(COMMANDS.length + INVALID_COMMANDS.length + UNREADABLE.length);
    for (const message of sent.slice(0, COMMANDS.length)) expect(problems('commands', { key: message.key, value: message.json, headers: message.headers })).toEqual(NONE);
    const results = new Map(inbox.of(messaging.topics.commandResults).map((message) => [message.key, message.json]));
    expect(COMMANDS.map(({ commandId }) => [commandId, results.get(commandId)?.status])).toEqual(COMMANDS.map(({ commandId }) => [commandId, commandId === 'c-oversell' ? 'rejected' : 'accepted']));

    for (const invalid of INVALID_COMMANDS) {
      expect({ commandId: invalid.commandId, result: results.get(invalid.commandId)?.code }).toEqual({ commandId: invalid.commandId, result: 'VALIDATION_FAILED' });
      const schema = messageFor('commands', invalid)?.payload()?.json();
      // An unknown type has no message in the document at all.
      if (schema) expect({ commandId: invalid.commandId, refused: errorsOf(schema, invalid) !== null }).toEqual({ commandId: invalid.commandId, refused: true });
      else expect(invalid.type).toBe('Frobnicate');
    }
  });

  it('describes every result and dead letter the intake sent', () => {
    const results = inbox.of(messaging.topics.commandResults);
    expect(new Set(results.map((message) => message.json.status))).toEqual(new Set(['accepted', 'rejected']));
    for (const message of results) expect({ commandId: message.key, ...problems('commandResults', { key: message.key, value: message.json, headers: message.headers }) }).toEqual({ commandId: message.key, ...NONE });

    const letters = inbox.of(messaging.topics.commandsDlq);
    expect(new Set(letters.map((message) => message.json.reason))).toEqual(new Set(['validation failed', 'not valid JSON', 'not a JSON object']));
    const originals = taken;
    for (const message of letters) {
      const original = originals.find((each) => each.offset === message.json.offset && each.partition === message.json.partition) as { key: string };
      expect(problems('commandsDlq', { key: message.key, value: message.json, headers: message.headers }, original)).toEqual(NONE);
    }
  });
});
