"""Pipeline and unit data as stored, shared by the data plane (which writes it) and the control
plane (which reads, exports and imports it): the row types, their ClickHouse columns and
INSERT, and the reads that honour N and expiry, whole or paged."""
