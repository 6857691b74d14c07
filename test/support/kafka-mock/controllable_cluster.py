"""librdkafka's mock Kafka cluster, driven through ctypes so that its brokers can be taken down and
brought back: the Kafka outage tests when no real broker can run.

The Python binding (confluent_kafka) starts a mock cluster but does not expose the calls that stop
a broker; librdkafka itself has them (rd_kafka_mock_broker_set_down / _set_up: close every
connection and refuse new ones, then accept again, keeping the data). Started as
`python3 controllable_cluster.py <brokers>`, it prints {"brokers": [...]} once, then reads commands
on stdin, one per line, and answers each with one line:
  down  -> every broker refuses connections      -> {"ok": "down"}
  up    -> every broker accepts connections again -> {"ok": "up"}
It exits when stdin closes.
"""
import ctypes
import ctypes.util
import json
import sys

BROKER_COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 3

lib = ctypes.CDLL(ctypes.util.find_library("rdkafka") or "librdkafka.so.1")
lib.rd_kafka_conf_new.restype = ctypes.c_void_p
lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_new.restype = ctypes.c_void_p
lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_broker_set_down.argtypes = [ctypes.c_void_p, ctypes.c_int32]
lib.rd_kafka_mock_broker_set_up.argtypes = [ctypes.c_void_p, ctypes.c_int32]

errstr = ctypes.create_string_buffer(512)
conf = lib.rd_kafka_conf_new()
lib.rd_kafka_conf_set(conf, b"log_level", b"3", errstr, 512)
RD_KAFKA_PRODUCER = 0
handle = lib.rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, 512)
if not handle:
    sys.exit(f"rd_kafka_new failed: {errstr.value.decode()}")
cluster = lib.rd_kafka_mock_cluster_new(handle, BROKER_COUNT)
if not cluster:
    sys.exit("rd_kafka_mock_cluster_new failed")
brokers = lib.rd_kafka_mock_cluster_bootstraps(cluster).decode().split(",")
print(json.dumps({"brokers": brokers}), flush=True)

for line in sys.stdin:
    command = line.strip()
    if command in ("down", "up"):
        for broker_id in range(1, BROKER_COUNT + 1):
            (lib.rd_kafka_mock_broker_set_down if command == "down" else lib.rd_kafka_mock_broker_set_up)(cluster, broker_id)
        print(json.dumps({"ok": command}), flush=True)
    elif command:
        print(json.dumps({"error": f"unknown command {command}"}), flush=True)
