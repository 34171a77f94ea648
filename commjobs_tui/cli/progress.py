"""A one-line progress bar on stderr for headless job runs."""

from __future__ import annotations

import sys
from typing import TextIO

from commjobs_tui.core.events import JobEvent, JobProgress

BAR_WIDTH = 30


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render(progress: JobProgress) -> str:
    done = progress.completed + progress.failed
    fraction = done / progress.total if progress.total else 1.0
    filled = int(BAR_WIDTH * fraction)
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    rate = (
        f"{progress.rate_per_minute:.0f}/min" if progress.rate_per_minute else "--/min"
    )
    return (
        f"[{bar}] {done}/{progress.total}  {progress.failed} failed  "
        f"{rate}  ETA {format_eta(progress.eta_seconds)}"
    )


class ProgressLine:
    """Redraws one line in a terminal; prints nothing when stderr is not a terminal."""

    def __init__(self, job_id: int, stream: TextIO | None = None) -> None:
        self.job_id = job_id
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._drawn = False

    def __call__(self, event: JobEvent) -> None:
        if not self.enabled or not isinstance(event, JobProgress):
            return
        if event.job_id != self.job_id:
            return
        self.stream.write("\r\x1b[2K" + render(event))
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
