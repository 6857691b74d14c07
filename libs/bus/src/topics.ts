/**
 * The ledger's topics. The version suffix is part of the contract: an incompatible change of a
 * message format gets a new topic, not a rewrite of the old one. `deploy/kafka/create-topics.sh`
 * creates the same names.
 */
export const TOPIC_BASE_NAMES = {
  /** Every ledger event, keyed by stream id so each stream's events stay in order. */
  ledger: 'inventory.ledger.v1',
  /** Latest availability per SKU and channel (compacted). */
  availability: 'inventory.availability.v1',
  /** Commands from other systems, keyed by SKU. */
  commands: 'inventory.commands.v1',
  /** One result per command, keyed by command id. */
  commandResults: 'inventory.command-results.v1',
  /** Commands that could not be processed, kept for inspection and replay. */
  commandsDlq: 'inventory.commands.dlq.v1',
} as const;

export type TopicNames = { [Name in keyof typeof TOPIC_BASE_NAMES]: string };

const LEGAL_PREFIX = /^[a-zA-Z0-9._-]*$/;

/**
 * The topic names under a prefix that several environments sharing one cluster tell apart by. The
 * prefix is used verbatim, separator included (e.g. `staging.`).
 */
export function topicNames(prefix = ''): TopicNames {
  if (!LEGAL_PREFIX.test(prefix)) {
    throw new Error(`Topic prefix "${prefix}" may hold only letters, digits, ".", "_" and "-"`);
  }
  const entries = Object.entries(TOPIC_BASE_NAMES).map(([name, base]) => [name, `${prefix}${base}`]);
  return Object.fromEntries(entries) as TopicNames;
}
