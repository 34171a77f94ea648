"""SQLite storage: models, engine set-up and migrations."""
