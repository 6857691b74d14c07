import type { LoggerService } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, MessageBus, MessageHandler } from '../bus.port';
import type { HandlerRetryOptions } from '../handler-retry';

export interface MessageBusFixture {
  /** Connected; built with `logger` and `CONTRACT_HANDLER_RETRY`. */
  bus: MessageBus;
  logger: RecordingLogger;
  /** Creates topics before they are used, where the bus does not create them (a broker's production stance). */
  createTopics?(topics: string[]): Promise<void>;
  teardown(): Promise<void>;
}

/** Short waits between handler attempts, so the retry case takes milliseconds. */
export const CONTRACT_HANDLER_RETRY: HandlerRetryOptions = { initialDelayMs: 10, maxDelayMs: 100 };

/** Keeps error and warning lines for assertions and drops the rest, which would only be noise in test output. */
export class RecordingLogger implements LoggerService {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  error(message: unknown): void {
    this.errors.push(String(message));
  }
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
  log(): void {}
}

/**
 * What every adapter of the port promises. Each adapter's spec calls this once; topics and groups get
 * fresh names, so the suite also runs against a cluster that keeps earlier data.
 */
export function describeMessageBusContract(adapter: string, setup: () => Promise<MessageBusFixture>): void {
  describe(`MessageBus contract: ${adapter}`, () => {
    let fixture: MessageBusFixture;
    let bus: MessageBus;

    beforeEach(async () => {
      fixture = await setup();
      bus = fixture.bus;
    });
    afterEach(async () => fixture.teardown());

    const unique = (name: string) => `contract.${name}.${randomUUID()}`;
    /** A fresh topic, created first where the bus does not create topics. */
    const newTopic = async (name: string) => {
      const topic = unique(name);
      await fixture.createTopics?.([topic]);
      return topic;
    };
    const text = (message: IncomingMessage) => message.value?.toString() ?? null;

    it('delivers published messages with their keys, values and headers', async () => {
      const topic = await newTopic('round-trip');
      const binary = Buffer.from([0, 1, 2, 255]);
      const headers = { 'event-type': 'StockReceived', 'event-id': 'e-1' };
      await bus.publish([
        { topic, key: 'sku-1', value: 'text ✓', headers },
        { topic, key: 'sku-2', value: binary },
      ]);
      const inbox = new Inbox();
      await bus.subscribe({ groupId: unique('group'), topics: [topic], fromBeginning: true, handler: inbox.handler });
      await inbox.waitFor(2);

      const byKey = new Map(inbox.messages.map((message) => [message.key, message]));
      expect(byKey.get('sku-1')).toMatchObject({ topic, value: Buffer.from('text ✓'), headers });
      expect(byKey.get('sku-2')).toMatchObject({ topic, value: binary, headers: {} });
      for (const message of inbox.messages) {
        expect(Number.isInteger(message.partition)).toBe(true);
        expect(message.offset).toMatch(/^\d+$/);
      }
    });

    it('keeps the order of messages with one key, across publish calls', async () => {
      const topic = await newTopic('order');
      const keys = ['sku-a', 'sku-b', 'sku-c', 'sku-d'];
      for (let round = 0; round < 5; round++) {
        await bus.publish(keys.flatMap((key) => [0, 1].map((step) => ({ topic, key, value: String(round * 2 + step) }))));
      }
      const inbox = new Inbox();
      await bus.subscribe({ groupId: unique('group'), topics: [topic], fromBeginning: true, handler: inbox.handler });
      await inbox.waitFor(40);

      for (const key of keys) {
        const ofKey = inbox.messages.filter((message) => message.key === key);
        expect(ofKey.map(text)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
        expect(new Set(ofKey.map((message) => message.partition)).size).toBe(1);
      }
    });

    it('commits only handled messages: a restarted group resumes at the first unhandled one', async () => {
      const topic = await newTopic('commit');
      const groupId = unique('group');
      await bus.publish(['0', '1', '2', '3', '4', '5'].map((value) => ({ topic, key: 'sku-1', value })));

      const handledFirst: string[] = [];
      const reachedThird = deferred();
      const first = await bus.subscribe({
        groupId,
        topics: [topic],
        fromBeginning: true,
        handler: async (message) => {
          if (text(message) === '3') {
            reachedThird.resolve();
            throw new Error('not handled before the stop');
          }
          handledFirst.push(text(message)!);
        },
      });
      await reachedThird.promise;
      await first.stop();
      expect(handledFirst).toEqual(['0', '1', '2']);

      const inbox = new Inbox();
      await bus.subscribe({ groupId, topics: [topic], fromBeginning: true, handler: inbox.handler });
      await inbox.waitFor(3);
      expect(inbox.messages.map(text)).toEqual(['3', '4', '5']);
    });

    it('retries a failing handler with the same message, logging each failure, and never skips it', async () => {
      const topic = await newTopic('retry');
      await bus.publish(['0', '1', '2'].map((value) => ({ topic, key: 'sku-1', value })));
      let failuresLeft = 3;
      const attempts: string[] = [];
      const inbox = new Inbox();
      await bus.subscribe({
        groupId: unique('group'),
        topics: [topic],
        fromBeginning: true,
        handler: async (message) => {
          attempts.push(text(message)!);
          if (text(message) === '1' && failuresLeft-- > 0) throw new Error('handler failed on purpose');
          await inbox.handler(message);
        },
      });
      await inbox.waitFor(3);

      expect(attempts).toEqual(['0', '1', '1', '1', '1', '2']);
      expect(inbox.messages.map(text)).toEqual(['0', '1', '2']);
      expect(fixture.logger.errors.filter((line) => line.includes('handler failed on purpose'))).toHaveLength(3);
    });

    it('publishes one batch across topics, each message to its own topic', async () => {
      const [stock, results] = [await newTopic('batch-stock'), await newTopic('batch-results')];
      await bus.publish([
        { topic: stock, key: 'sku-1', value: 'stock-1' },
        { topic: results, key: 'command-1', value: 'result-1' },
        { topic: stock, key: 'sku-2', value: 'stock-2' },
      ]);
      const inbox = new Inbox();
      await bus.subscribe({ groupId: unique('group'), topics: [stock, results], fromBeginning: true, handler: inbox.handler });
      await inbox.waitFor(3);

      const valuesOf = (topic: string) => inbox.messages.filter((message) => message.topic === topic).map(text).sort();
      expect(valuesOf(stock)).toEqual(['stock-1', 'stock-2']);
      expect(valuesOf(results)).toEqual(['result-1']);
    });

    it('reports healthy while connected, and not once closed', async () => {
      expect(bus.isHealthy()).toBe(true);
      await bus.close();
      expect(bus.isHealthy()).toBe(false);
    });
  });
}

/** Collects what a handler received and waits for a count of it. */
class Inbox {
  readonly messages: IncomingMessage[] = [];
  readonly handler: MessageHandler = async (message) => {
    this.messages.push(message);
  };

  async waitFor(count: number, timeoutMs = 20_000): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; this.messages.length < count; ) {
      if (Date.now() > deadline) {
        throw new Error(`Waited ${timeoutMs} ms for ${count} messages, got ${this.messages.length}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}
