"""The bot's routers, one module per group of commands."""
