"""API schemas: what requests carry and responses show, never the database rows themselves."""
