"""The provider interface: drafts, and errors classified for the job engine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from commjobs_tui.core.prompt import DonorFacts, OrgProfile


class ErrorKind(StrEnum):
    """Classification of a failed draft request, stored in the database."""

    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    INVALID_OUTPUT = "invalid_output"
    REFUSED = "refused"
    BAD_REQUEST = "bad_request"
    AUTH = "auth"
    QUOTA = "quota"
    MODEL_NOT_FOUND = "model_not_found"


# Kinds where the same request may succeed when sent again, because the server
# or the model may return a different result.
TRANSIENT_KINDS = frozenset(
    {
        ErrorKind.RATE_LIMITED,
        ErrorKind.SERVER_ERROR,
        ErrorKind.TIMEOUT,
        ErrorKind.CONNECTION,
        ErrorKind.MALFORMED,
        ErrorKind.TRUNCATED,
        ErrorKind.INVALID_OUTPUT,
    }
)
# Every later request of the job would fail the same way until the user acts.
FATAL_KINDS = frozenset({ErrorKind.AUTH, ErrorKind.QUOTA, ErrorKind.MODEL_NOT_FOUND})


class ProviderError(Exception):
    """A failed draft request, with the kind that decides retry, skip or stop.

    `message` is fit to show a user: it never contains the API key or donor data.
    `retry_after` is the server's requested wait in seconds, if it sent one.
    `transient` defaults to what the kind implies, and a provider whose output
    is deterministic sets it to False.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        retry_after: float | None = None,
        status_code: int | None = None,
        transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.status_code = status_code
        self.transient = kind in TRANSIENT_KINDS if transient is None else transient

    @property
    def fatal_for_job(self) -> bool:
        """True when every request would fail: stop the job and show the message."""
        return self.kind in FATAL_KINDS

    def __repr__(self) -> str:
        return (
            f"ProviderError(kind={self.kind.value!r}, message={self.message!r}, "
            f"retry_after={self.retry_after!r}, status_code={self.status_code!r})"
        )


@dataclass(frozen=True)
class Draft:
    """One drafted email and the tokens it cost."""

    subject: str
    body: str
    prompt_tokens: int
    completion_tokens: int


class Provider(Protocol):
    """Something that drafts one email per call.

    `draft` sends at most one request per call, except that `OpenAIProvider`
    repeats a request once without structured output when a server rejects it.
    Retries, backoff and rate limits are the caller's job.
    """

    name: str
    model: str

    async def draft(
        self, facts: DonorFacts, instruction: str, org: OrgProfile
    ) -> Draft: ...

    async def aclose(self) -> None: ...
