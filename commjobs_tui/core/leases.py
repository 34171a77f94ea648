"""Leases on running jobs: who runs a job, and recovery when that process is gone."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update

from commjobs_tui.core.jobs import refresh_counts
from commjobs_tui.db.models import EmailGenerationSession, GeneratedEmail
from commjobs_tui.db.store import Store

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
# A lease whose heartbeat is older than this is abandoned even if its pid exists,
# because the pid may have been reused by an unrelated process.
STALE_AFTER_SECONDS = 30.0


@dataclass(frozen=True)
class LeaseIdentity:
    """The process that holds a lease."""

    owner: str
    pid: int
    host: str

    @classmethod
    def current(cls) -> LeaseIdentity:
        host = socket.gethostname()
        pid = os.getpid()
        return cls(owner=f"{host}:{pid}:{uuid.uuid4().hex[:12]}", pid=pid, host=host)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lease_is_live(
    job: EmailGenerationSession, me: LeaseIdentity, now: dt.datetime
) -> bool:
    """Return whether a running job's lease holder is still alive."""
    if job.lease_owner is None or job.lease_heartbeat_at is None:
        return False
    if job.lease_owner == me.owner:
        return True
    if (now - job.lease_heartbeat_at).total_seconds() > STALE_AFTER_SECONDS:
        return False
    if job.lease_host == me.host and job.lease_pid is not None:
        return _pid_alive(job.lease_pid)
    return True


async def recover_abandoned_jobs(
    store: Store, me: LeaseIdentity, now: dt.datetime
) -> list[int]:
    """Mark running jobs whose lease holder is gone as interrupted; return their ids.

    Their emails that were being generated go back to pending, so a later run resumes
    them without redoing completed ones.
    """
    recovered: list[int] = []
    async with store.session() as session, session.begin():
        running = (
            await session.scalars(
                select(EmailGenerationSession).where(
                    EmailGenerationSession.status == "running"
                )
            )
        ).all()
        for job in running:
            if lease_is_live(job, me, now):
                continue
            holder = (
                f"process {job.lease_pid} on {job.lease_host}"
                if job.lease_pid
                else "its process"
            )
            job.status = "interrupted"
            job.error_message = (
                f"{holder} stopped while running this job; resume it with "
                f"`commjobs jobs run {job.id}` or a retry"
            )
            job.lease_owner = None
            job.lease_pid = None
            job.lease_host = None
            job.lease_heartbeat_at = None
            job.requested_action = None
            await session.execute(
                update(GeneratedEmail)
                .where(
                    GeneratedEmail.session_id == job.id,
                    GeneratedEmail.status == "generating",
                )
                .values(status="pending")
            )
            await refresh_counts(session, job.id)
            recovered.append(job.id)
    if recovered:
        log.warning("marked abandoned jobs as interrupted: %s", recovered)
    return recovered
