"""Broker access: who may publish and subscribe to what (Mosquitto's ACL and config, or the
embedded broker's checks), and the publisher the platform sends with."""
