"""Storage: conversations and request records in SQLite."""
