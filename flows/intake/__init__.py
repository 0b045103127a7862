"""MQTT intake: messages become durable in a local write-ahead log before they are acknowledged."""
