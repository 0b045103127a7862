"""The SQL data model shared by flows/ and control_plane/, its engine and its migrations."""
