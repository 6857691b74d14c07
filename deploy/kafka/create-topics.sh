#!/usr/bin/env bash
# Creates the ledger's topics (topics.txt beside this script: names and settings) with Kafka's
# kafka-topics.sh. Safe to rerun: existing topics are left as they are (change their settings with
# kafka-configs.sh instead).
#
#   BOOTSTRAP_SERVERS=broker-1:9092,broker-2:9092 \
#   [TOPIC_PREFIX=staging.] [PARTITIONS=12] [COMMAND_CONFIG=client.properties] \
#   [REPLICATION_FACTOR=3] [MIN_INSYNC_REPLICAS=2] [KAFKA_TOPICS=kafka-topics.sh] \
#   deploy/kafka/create-topics.sh
#
# TOPIC_PREFIX must equal the app's topic prefix. COMMAND_CONFIG holds the TLS/SASL client settings.
# REPLICATION_FACTOR and MIN_INSYNC_REPLICAS override topics.txt, for a cluster of fewer than three
# brokers (a laptop, a test): never in production.
set -euo pipefail

: "${BOOTSTRAP_SERVERS:?set BOOTSTRAP_SERVERS, e.g. broker-1:9092,broker-2:9092}"
TOPIC_PREFIX="${TOPIC_PREFIX:-}"
# Partitions cannot be added later without moving keys to other partitions (and so breaking their
# order), so size for the throughput expected years ahead.
PARTITIONS="${PARTITIONS:-12}"
KAFKA_TOPICS="${KAFKA_TOPICS:-kafka-topics.sh}"
TOPICS_FILE="$(dirname "$0")/topics.txt"

replication_factor=""
common=()
# Reads topics.txt: the `*` line first (settings for all), then one topic a line.
while read -r name settings; do
  case "$name" in '' | '#'*) continue ;; esac
  configs=()
  for setting in $settings; do
    case "$setting" in
      replication.factor=*) replication_factor="${setting#*=}" ;;
      min.insync.replicas=*) configs+=("min.insync.replicas=${MIN_INSYNC_REPLICAS:-${setting#*=}}") ;;
      *) configs+=("$setting") ;;
    esac
  done
  if [[ "$name" == '*' ]]; then
    common=("${configs[@]}")
    continue
  fi
  args=(--bootstrap-server "$BOOTSTRAP_SERVERS" --create --if-not-exists --topic "${TOPIC_PREFIX}${name}"
    --partitions "$PARTITIONS" --replication-factor "${REPLICATION_FACTOR:-${replication_factor:-3}}")
  if [[ -n "${COMMAND_CONFIG:-}" ]]; then args+=(--command-config "$COMMAND_CONFIG"); fi
  for config in "${common[@]}" "${configs[@]}"; do args+=(--config "$config"); done
  echo "creating ${TOPIC_PREFIX}${name}"
  "$KAFKA_TOPICS" "${args[@]}"
done < "$TOPICS_FILE"
