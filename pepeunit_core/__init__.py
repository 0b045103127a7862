"""What flows/ and control_plane/ share: settings, the SQL data model and its migrations, the
ClickHouse client and schema, the stored rows and their reads, and retried writes."""
