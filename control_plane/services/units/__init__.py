"""Units: their rows, access, target, env and schema.json, commands, logs and state storage."""
