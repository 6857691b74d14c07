import { randomUUID } from 'node:crypto';
import type { IncomingMessage, MessageBus, OutgoingMessage, SubscribeOptions, Subscription } from '@ledger/bus';

/** Polls until `check` holds (returns true); fails with `describe()` after the timeout. */
export async function eventually(check: () => boolean | Promise<boolean>, { timeoutMs = 10_000, intervalMs = 10, describe = () => '' } = {}): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Every message of some topics, as delivered, with the value parsed as JSON. */
export class Inbox<Value = Record<string, unknown>> {
  readonly messages: (IncomingMessage & { json: Value })[] = [];
  private subscription: Subscription | null = null;

  static async on<Value = Record<string, unknown>>(bus: MessageBus, topics: string[]): Promise<Inbox<Value>> {
    const inbox = new Inbox<Value>();
    inbox.subscription = await bus.subscribe({ groupId: `inbox-${randomUUID()}`, topics, fromBeginning: true, handler: async (message) => inbox.add(message) });
    return inbox;
  }

  add(message: IncomingMessage): void {
    this.messages.push({ ...message, json: JSON.parse(message.value?.toString() ?? 'null') as Value });
  }

  of(topic: string): (IncomingMessage & { json: Value })[] {
    return this.messages.filter((message) => message.topic === topic);
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }
}

/** A bus whose publish fails while `failures` is above zero (counting down), or while `down` is set. */
export class FlakyBus implements MessageBus {
  failures = 0;
  down = false;
  publishCalls: OutgoingMessage[][] = [];

  constructor(private readonly inner: MessageBus) {}

  connect(): Promise<void> {
    return this.inner.connect();
  }

  async publish(messages: OutgoingMessage[]): Promise<void> {
    if (this.down || this.failures > 0) {
      if (this.failures > 0) this.failures -= 1;
      throw new Error('broker unavailable (simulated)');
    }
    this.publishCalls.push(messages);
    await this.inner.publish(messages);
  }

  subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribe(options);
  }

  isHealthy(): boolean {
    return this.inner.isHealthy();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
