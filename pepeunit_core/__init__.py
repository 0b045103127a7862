"""What flows/ and control_plane/ share: settings, the SQL data model and its migrations,
and the ClickHouse schema."""
