"""Users, permissions and the link of a user to a Telegram chat."""
