"""Output→Input routing (contract decision 1): the intake republishes every message on an
Output node topic to the topics of the Input nodes linked to it by edges."""
