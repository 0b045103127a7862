"""Output→Input routing (docs/compatibility.md#routing-by-the-dataflow): the intake republishes
every message on an Output node topic to the topics of the Input nodes linked to it by edges."""
