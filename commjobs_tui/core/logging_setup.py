"""Log file set-up: a rotating file in the user log folder, private to its owner."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from commjobs_tui.core.settings import user_log_dir

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
MAX_LOG_BYTES = 2_000_000
LOG_BACKUPS = 3


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Rotating handler whose files are created 0600."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
        return os.fdopen(fd, self.mode, encoding=self.encoding)


def log_file_path() -> Path:
    return user_log_dir() / "commjobs.log"


def configure_logging(level: str = "INFO", path: Path | None = None) -> Path | None:
    """Send log records to the rotating file; return its path, or None if it failed.

    A log folder that cannot be created leaves logging off rather than stopping the app.
    """
    path = path or log_file_path()
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        if isinstance(handler, _PrivateRotatingFileHandler):
            root.removeHandler(handler)
            handler.close()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = _PrivateRotatingFileHandler(
            path, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    # Libraries log request details (URLs, headers) at DEBUG and INFO.
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
