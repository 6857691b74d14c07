#!/bin/sh
# kafka-topics.sh from the test broker's jars (Kafka's TopicCommand), so that a test can run
# deploy/kafka/create-topics.sh itself: KAFKA_TOPICS=test/support/kafka-broker/kafka-topics.sh.
# JAVA and KAFKA_BROKER_JVM_FLAGS come from index.ts (the Java runtime, the class-data archive).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC2086 # the flags are separate words
exec "${JAVA:-java}" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData ${KAFKA_BROKER_JVM_FLAGS:-} \
  -Dlog4j2.configurationFile="$here/log4j2.properties" -cp "${KAFKA_BROKER_LIB:-$here/lib}/*" \
  org.apache.kafka.tools.TopicCommand "$@"
