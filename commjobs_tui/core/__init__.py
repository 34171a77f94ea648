"""Core services: storage, import, jobs and the engine. Never imports textual."""
