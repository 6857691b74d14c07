/**
 * The message-bus port. Adapters: the in-process bus (default, no Kafka configured) and Kafka. Both
 * pass the same contract suite (`testing/message-bus.contract.ts`).
 *
 * Delivery is at least once: a message is acknowledged to the bus only after its handler resolved,
 * so a crash or a stop between the two delivers it again. Handlers must therefore be idempotent.
 */
export interface OutgoingMessage {
  topic: string;
  /** Messages with one key land on one partition and are delivered in the order published. */
  key: string;
  value: Buffer | string;
  headers?: Record<string, string>;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit, hence a decimal string. */
  offset: string;
  /** Null only for messages some other producer sent without a key. */
  key: string | null;
  /** Null for a tombstone (a compacted topic's deletion marker). */
  value: Buffer | null;
  headers: Record<string, string>;
}

export type MessageHandler = (message: IncomingMessage) => Promise<void>;

export interface SubscribeOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts: the oldest message, or (default) only new ones. */
  fromBeginning?: boolean;
  /**
   * Messages arrive one at a time, in order per partition. A handler that throws gets the same
   * message again after a growing delay, for as long as it takes: a message is never skipped, and
   * the subscription waits on it. A handler that must give up on a poison message says so itself
   * (e.g. to a dead-letter topic) and resolves.
   */
  handler: MessageHandler;
}

export interface Subscription {
  /** Waits for the handler in progress, leaves the group; undelivered messages stay for the group. */
  stop(): Promise<void>;
}

export interface MessageBus {
  connect(): Promise<void>;
  /**
   * Sends messages, which may span topics, and resolves once the bus holds every one of them
   * (Kafka: acknowledged by all in-sync replicas). A rejection means some may have been stored.
   */
  publish(messages: OutgoingMessage[]): Promise<void>;
  /** Resolves once the subscription has joined its group and delivers messages. */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Connected, and no subscription has failed for good; readiness uses it. */
  isHealthy(): boolean;
  /** Stops every subscription, then disconnects. */
  close(): Promise<void>;
}

export const MESSAGE_BUS = Symbol('MESSAGE_BUS');
