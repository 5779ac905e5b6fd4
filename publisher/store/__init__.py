"""The ledger: schema and migrations, sync, the SQLite lock, the notification outbox."""
