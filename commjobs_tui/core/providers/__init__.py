"""Model providers: one drafted email per call, failures classified by kind."""

from __future__ import annotations

import openai

from commjobs_tui.core.errors import UserError
from commjobs_tui.core.providers.base import (
    FATAL_KINDS,
    TRANSIENT_KINDS,
    Draft,
    ErrorKind,
    Provider,
    ProviderError,
)
from commjobs_tui.core.providers.offline import OFFLINE_MODEL, OfflineProvider
from commjobs_tui.core.providers.openai_provider import (
    OpenAIProvider,
    check_endpoint,
    create_client,
    parse_retry_after,
)
from commjobs_tui.core.settings import Settings

__all__ = [
    "FATAL_KINDS",
    "OFFLINE_MODEL",
    "TRANSIENT_KINDS",
    "Draft",
    "ErrorKind",
    "OfflineProvider",
    "OpenAIProvider",
    "Provider",
    "ProviderError",
    "check_endpoint",
    "create_client",
    "create_provider",
    "parse_retry_after",
]

PROVIDER_NAMES = ("auto", "openai", "offline")


def create_provider(
    settings: Settings,
    *,
    provider: str,
    model: str,
    client: openai.AsyncOpenAI | None = None,
) -> Provider:
    """Build the named provider ("auto" follows `settings.effective_provider`).

    Call it on the running event loop, because the OpenAI client binds to it.
    `client` is a shared AsyncOpenAI client for the openai provider; without it
    the provider creates and closes its own.
    Raises UserError for an unknown provider, an empty model name or missing
    OpenAI credentials.
    """
    choice = provider.strip().lower()
    if choice == "auto":
        choice = settings.effective_provider
    if choice == "offline":
        return OfflineProvider()
    if choice == "openai":
        if not model.strip():
            raise UserError("the model name is empty; pass --model, e.g. gpt-4.1-mini")
        return OpenAIProvider(settings, model=model.strip(), client=client)
    raise UserError(
        f"unknown provider {provider!r}; use one of: {', '.join(PROVIDER_NAMES)}"
    )
