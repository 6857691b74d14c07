#!/usr/bin/env bash
# Creates the ledger's topics on a production cluster with Kafka's kafka-topics.sh. Safe to rerun:
# existing topics are left as they are (change their settings with kafka-configs.sh instead).
#
#   BOOTSTRAP_SERVERS=broker-1:9092,broker-2:9092 \
#   [TOPIC_PREFIX=staging.] [PARTITIONS=12] [COMMAND_CONFIG=client.properties] \
#   deploy/kafka/create-topics.sh
#
# TOPIC_PREFIX must equal the app's topic prefix. COMMAND_CONFIG holds the TLS/SASL client settings.
set -euo pipefail

: "${BOOTSTRAP_SERVERS:?set BOOTSTRAP_SERVERS, e.g. broker-1:9092,broker-2:9092}"
TOPIC_PREFIX="${TOPIC_PREFIX:-}"
# Partitions cannot be added later without moving keys to other partitions (and so breaking their
# order), so size for the throughput expected years ahead.
PARTITIONS="${PARTITIONS:-12}"
KAFKA_TOPICS="${KAFKA_TOPICS:-kafka-topics.sh}"

DAY_MS=86400000

create_topic() {
  local name="$1"
  shift
  local args=(--bootstrap-server "$BOOTSTRAP_SERVERS" --create --if-not-exists --topic "${TOPIC_PREFIX}${name}"
    --partitions "$PARTITIONS"
    # With acks=all from the producer, a write survives the loss of any one broker, and writes go on
    # while one of the three is down.
    --replication-factor 3 --config min.insync.replicas=2)
  if [[ -n "${COMMAND_CONFIG:-}" ]]; then args+=(--command-config "$COMMAND_CONFIG"); fi
  for config in "$@"; do args+=(--config "$config"); done
  echo "creating ${TOPIC_PREFIX}${name}"
  "$KAFKA_TOPICS" "${args[@]}"
}

# The event store stays the source of truth; Kafka keeps a month for consumers that fell behind.
# A consumer rebuilding from scratch replays the event store, not this topic.
create_topic inventory.ledger.v1 cleanup.policy=delete retention.ms=$((30 * DAY_MS))

# Latest availability per SKU and channel: compaction keeps the newest value of every key for as long
# as the key lives, so a new reader gets the full picture; tombstones go after a day.
create_topic inventory.availability.v1 cleanup.policy=compact delete.retention.ms=$DAY_MS

# Commands are worth acting on only for so long; a week outlasts any outage we plan to ride out.
create_topic inventory.commands.v1 cleanup.policy=delete retention.ms=$((7 * DAY_MS))

# Delete, not compact: results are keyed by command id and each id is written once, so compaction
# would remove nothing and keep every result forever. Senders read their result within minutes, and
# a retried command is recognised by the ledger's event ids, not by this topic.
create_topic inventory.command-results.v1 cleanup.policy=delete retention.ms=$((7 * DAY_MS))

# Dead letters wait for a person to inspect and replay them; a month covers holidays.
create_topic inventory.commands.dlq.v1 cleanup.policy=delete retention.ms=$((30 * DAY_MS))
