"""Job progress events and the small publish/subscribe interface front ends use.

The engine publishes; the TUI and the CLI progress bar subscribe. Subscribers are
plain callables run on the event loop, so this module needs no UI toolkit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobProgress:
    """Counts of a running job, sent at most about ten times a second per job.

    `finished_email_ids` lists the emails written since the previous event.
    `rate_per_minute` and `eta_seconds` are None until the first email finishes.
    """

    job_id: int
    status: str
    total: int
    completed: int
    failed: int
    pending: int
    rate_per_minute: float | None
    eta_seconds: float | None
    finished_email_ids: tuple[int, ...]
    at: dt.datetime


@dataclass(frozen=True)
class JobFinished:
    """A run of a job stopped: completed, failed, cancelled, paused or interrupted."""

    job_id: int
    status: str
    completed: int
    failed: int
    error: str | None


@dataclass(frozen=True)
class JobsChanged:
    """Jobs were created, deleted or changed state outside a run."""

    job_ids: tuple[int, ...]


JobEvent = JobProgress | JobFinished | JobsChanged
Subscriber = Callable[[JobEvent], None]


class EventBus:
    """Fan-out of job events to subscribers; a failing subscriber is logged and kept."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; return a function that removes it."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: JobEvent) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("job event subscriber failed on %s", type(event).__name__)
