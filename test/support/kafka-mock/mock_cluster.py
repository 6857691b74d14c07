"""Runs librdkafka's mock Kafka cluster on loopback for tests: no JVM, no Docker.

Prints {"brokers": ["127.0.0.1:PORT", ...]} as one line on stdout once the cluster answers, then
keeps it up until stdin closes (so it dies with its parent) or SIGTERM (default action: exit).

The cluster lives inside this process's librdkafka client. It auto-creates a topic on first use with
4 partitions, replicated on min(3, brokers) brokers (librdkafka 2.0 has no setting for that, and
its topic-creation call is not exposed to Python). It has no controller, so Kafka's admin API for
creating topics cannot be used against it, nor can the idempotent producer.
"""
import json
import sys

from confluent_kafka import Producer

BROKER_COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 3

# log_level 3 (errors only): the "mock cluster enabled" notice on stderr is noise.
client = Producer({"test.mock.num.brokers": BROKER_COUNT, "log_level": 3})
metadata = client.list_topics(timeout=10)
brokers = sorted(f"{broker.host}:{broker.port}" for broker in metadata.brokers.values())
print(json.dumps({"brokers": brokers}), flush=True)

sys.stdin.read()
