"""Drafts from an OpenAI-compatible chat-completions API (OpenAI, Ollama, vLLM)."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.shared_params import ResponseFormatJSONSchema

from commjobs_tui.core.errors import UserError
from commjobs_tui.core.prompt import (
    DonorFacts,
    OrgProfile,
    build_messages,
    check_draft,
    estimate_prompt_tokens,
)
from commjobs_tui.core.providers.base import Draft, ErrorKind, ProviderError
from commjobs_tui.core.settings import Settings

log = logging.getLogger(__name__)

# Local servers such as Ollama and LM Studio ignore the key, but the client
# requires one.
NO_KEY_PLACEHOLDER = "not-needed"
SERVER_MESSAGE_MAX_CHARS = 300

DRAFT_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "subject": {
            "type": "string",
            "description": "Email subject line, under 150 characters.",
        },
        "body": {
            "type": "string",
            "description": "Plain-text email body from greeting to signature.",
        },
    },
    "required": ["subject", "body"],
    "additionalProperties": False,
}
RESPONSE_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {"name": "email_draft", "schema": DRAFT_SCHEMA, "strict": True},
}

_KEY_PATTERN = re.compile(r"\bsk-[A-Za-z0-9_*.\-]{6,}")
_CODE_FENCE = re.compile(r"^```[A-Za-z]*\s*\n?(.*?)\n?```$", re.DOTALL)


class OpenAIProvider:
    """Provider backed by one `openai.AsyncOpenAI` client.

    Create it on the event loop that will use it and close it with `aclose()`.
    The client never retries (`max_retries=0`), because the job engine does.
    """

    name = "openai"

    def __init__(
        self,
        settings: Settings,
        *,
        model: str,
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        """Use `client` when given (shared, closed by its owner), else create one."""
        base_url, key = _endpoint(settings)
        self.model = model
        self.timeout = settings.request_timeout
        self.uses_json_schema = True
        self._key = key
        self._server = _describe_server(base_url)
        self._owns_client = client is None
        self._client = client or create_client(settings)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.close()

    async def draft(
        self, facts: DonorFacts, instruction: str, org: OrgProfile
    ) -> Draft:
        """Request one draft and validate it.

        Raises ProviderError for every failure of the request or its reply.
        """
        messages = _chat_messages(build_messages(facts, instruction, org))
        secrets = self._secrets_for(facts)
        if self.uses_json_schema:
            try:
                content, usage = await self._complete(
                    messages, secrets, json_schema=True
                )
            except _ResponseFormatRejected:
                # Some OpenAI-compatible servers reject json_schema. The system
                # message already requests a JSON reply, so the draft still parses.
                if self.uses_json_schema:
                    self.uses_json_schema = False
                    log.warning(
                        "%s rejected response_format json_schema; "
                        "using plain JSON instructions from now on",
                        self._server,
                    )
                content, usage = await self._complete(
                    messages, secrets, json_schema=False
                )
        else:
            content, usage = await self._complete(messages, secrets, json_schema=False)
        subject, body = _parse_draft(content)
        reason = check_draft(subject, body)
        if reason is not None:
            raise ProviderError(
                ErrorKind.INVALID_OUTPUT,
                _redact(f"the draft failed the checks: {reason}", secrets),
            )
        prompt_tokens = _usage_count(usage, "prompt_tokens")
        if prompt_tokens is None:
            prompt_tokens = estimate_prompt_tokens(facts, instruction, org)
        completion_tokens = _usage_count(usage, "completion_tokens")
        if completion_tokens is None:
            completion_tokens = math.ceil(len(content) / 4)
        return Draft(
            subject=subject,
            body=body,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    def _secrets_for(self, facts: DonorFacts) -> list[str]:
        secrets = [] if self._key == NO_KEY_PLACEHOLDER else [self._key]
        for value in (
            facts.display_name,
            facts.first_name,
            facts.last_name,
            facts.organization_name,
            facts.city,
            facts.notes,
            facts.tags,
        ):
            if value and len(value.strip()) >= 3:
                secrets.append(value.strip())
        return secrets

    async def _complete(
        self,
        messages: list[ChatCompletionMessageParam],
        secrets: list[str],
        *,
        json_schema: bool,
    ) -> tuple[str, Any]:
        """Send one request and return the reply's content and usage object."""
        try:
            # The client's timeout bounds each network read, and this one bounds
            # the whole request.
            body: dict[str, Any] = {"model": self.model, "messages": messages}
            if json_schema:
                body["response_format"] = RESPONSE_FORMAT
            async with asyncio.timeout(self.timeout):
                # The client's generic post skips the typed-parameter transform of
                # chat.completions.create, which cost about 2.6 ms of CPU per request
                # with openai 3.60. Auth, timeouts and errors work the same way.
                content = await self._client.post(
                    "/chat/completions", cast_to=bytes, body=body
                )
        except (TimeoutError, openai.APITimeoutError):
            raise ProviderError(
                ErrorKind.TIMEOUT,
                f"no reply from {self._server} within {self.timeout:g} s",
            ) from None
        except openai.APIConnectionError as exc:
            cause = (
                type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
            )
            raise ProviderError(
                ErrorKind.CONNECTION,
                f"cannot connect to {self._server} ({cause}); "
                "check the base URL and the network",
            ) from None
        except openai.APIStatusError as exc:
            if json_schema and _rejects_response_format(exc):
                raise _ResponseFormatRejected from None
            raise self._status_error(exc, secrets) from None
        except openai.APIError as exc:
            log.debug("unexpected API error %s", type(exc).__name__)
            raise ProviderError(
                ErrorKind.MALFORMED,
                f"unreadable reply from {self._server}",
            ) from None
        return _read_completion(content, self._server)

    def _status_error(
        self, exc: openai.APIStatusError, secrets: list[str]
    ) -> ProviderError:
        status = exc.status_code
        code = exc.code or ""
        error_type = exc.type or ""
        retry_after = parse_retry_after(exc.response.headers)
        detail = _redact(f"HTTP {status} {code[:60]}".strip(), secrets)
        log.debug("API error %s type=%s from %s", detail, error_type, self._server)

        if code == "insufficient_quota" or error_type == "insufficient_quota":
            return ProviderError(
                ErrorKind.QUOTA,
                f"the API account has no credit left ({detail}); "
                "add credit or use another key",
                status_code=status,
            )

        if status == 429:
            return ProviderError(
                ErrorKind.RATE_LIMITED,
                f"rate limit reached at {self._server} ({detail})",
                retry_after=retry_after,
                status_code=status,
            )

        if status in (401, 403):
            reason = "API key rejected" if status == 401 else "access denied"
            return ProviderError(
                ErrorKind.AUTH,
                f"{reason} by {self._server} ({detail}); check OPENAI_API_KEY",
                status_code=status,
            )

        if status == 404 or code == "model_not_found":
            return ProviderError(
                ErrorKind.MODEL_NOT_FOUND,
                f"model {self.model!r} was not found at {self._server} ({detail}); "
                "check the model name (--model) and the base URL",
                status_code=status,
            )

        if status == 408:
            return ProviderError(
                ErrorKind.TIMEOUT,
                f"request timed out at {self._server} ({detail})",
                retry_after=retry_after,
                status_code=status,
            )

        if status >= 500:
            return ProviderError(
                ErrorKind.SERVER_ERROR,
                f"server error at {self._server} ({detail})",
                retry_after=retry_after,
                status_code=status,
            )

        server_message = _redact(_server_message(exc), secrets)
        return ProviderError(
            ErrorKind.BAD_REQUEST,
            f"request rejected by {self._server} ({detail}): {server_message}",
            status_code=status,
        )


def _endpoint(settings: Settings) -> tuple[str | None, str]:
    """Return the base URL (None for OpenAI's) and the key to send."""
    base_url = (settings.base_url or "").strip() or None
    if base_url is not None:
        _validate_base_url(base_url)
    key = ""
    if settings.openai_api_key is not None:
        key = settings.openai_api_key.get_secret_value().strip()
    if not key:
        if base_url is None:
            raise UserError(
                "OPENAI_API_KEY is not set. Set it in the environment, set "
                "OPENAI_BASE_URL to a local server such as Ollama, or use "
                "--provider offline"
            )
        key = NO_KEY_PLACEHOLDER
    return base_url, key


def create_client(settings: Settings) -> openai.AsyncOpenAI:
    """Build the AsyncOpenAI client for the settings; call it on the running loop.

    It never retries (`max_retries=0`), because the job engine does.
    """
    base_url, key = _endpoint(settings)
    return openai.AsyncOpenAI(
        api_key=key,
        base_url=base_url,
        max_retries=0,
        timeout=settings.request_timeout,
    )


class _ResponseFormatRejected(Exception):
    """A server rejected `response_format`, so the request is sent again without it."""


def _validate_base_url(base_url: str) -> None:
    parts = urlsplit(base_url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise UserError(
            f"invalid base URL {base_url!r}: use http:// or https:// with a host "
            "and a port from 1 to 65535, such as http://localhost:11434/v1"
        )


def check_endpoint(settings: Settings) -> None:
    """Raise UserError now if the openai provider could not be built later."""
    _endpoint(settings)


def _describe_server(base_url: str | None) -> str:
    """Name the server for messages, without any credentials in the URL."""
    if base_url is None:
        return "the OpenAI API"
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _chat_messages(
    messages: Iterable[Mapping[str, str]],
) -> list[ChatCompletionMessageParam]:
    result: list[ChatCompletionMessageParam] = []
    for message in messages:
        role, content = message["role"], message["content"]
        if role == "system":
            result.append(
                ChatCompletionSystemMessageParam(role="system", content=content)
            )
        elif role == "user":
            result.append(ChatCompletionUserMessageParam(role="user", content=content))
        elif role == "assistant":
            result.append(
                ChatCompletionAssistantMessageParam(role="assistant", content=content)
            )
        else:
            raise ValueError(f"unknown chat message role {role!r}")
    return result


def _rejects_response_format(exc: openai.APIStatusError) -> bool:
    if exc.status_code not in (400, 422):
        return False
    if exc.param == "response_format":
        return True
    text = _server_message(exc).lower()
    return "response_format" in text or "json_schema" in text


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    text = exc.message
    if isinstance(body, str):
        text = body
    elif isinstance(body, Mapping):
        # OpenAI and vLLM use "message", FastAPI-based servers "detail".
        for key in ("message", "detail", "error"):
            if isinstance(body.get(key), str):
                text = str(body[key])
                break
    text = " ".join(text.split())
    if len(text) > SERVER_MESSAGE_MAX_CHARS:
        text = text[:SERVER_MESSAGE_MAX_CHARS] + "..."
    return text


def _redact(text: str, secrets: Iterable[str]) -> str:
    """Replace the key and donor field values in a message with ***."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("sk-***", text)


def parse_retry_after(
    headers: Mapping[str, str], *, now: float | None = None
) -> float | None:
    """Read the requested wait in seconds from `retry-after-ms` or `Retry-After`.

    `Retry-After` may be seconds or an HTTP date (RFC 9110, section 10.2.3).
    A date in the past gives 0. Returns None when neither header is usable.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    milliseconds = _finite_float(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return max(0.0, milliseconds / 1000)
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _finite_float(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _finite_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _read_completion(content: bytes, server: str) -> tuple[str, Any]:
    """Return the draft text and usage of a chat completion body.

    Raises ProviderError for a body that is not a chat completion, a refusal,
    a content-filter stop and a reply cut off at the token limit.
    """
    try:
        data = json.loads(content)
    except ValueError:
        raise ProviderError(
            ErrorKind.MALFORMED, f"the reply from {server} is not JSON"
        ) from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ProviderError(
            ErrorKind.MALFORMED, f"the reply from {server} has no choices"
        )
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ProviderError(
            ErrorKind.MALFORMED, f"the reply from {server} has no message"
        )
    if message.get("refusal"):
        raise ProviderError(ErrorKind.REFUSED, "the model declined to write this email")
    finish_reason = choice.get("finish_reason")
    if finish_reason == "content_filter":
        raise ProviderError(
            ErrorKind.REFUSED, "the provider's content filter blocked this email"
        )
    if finish_reason == "length":
        raise ProviderError(
            ErrorKind.TRUNCATED,
            "the reply reached the token limit before the draft was complete",
        )
    text = message.get("content")
    if not isinstance(text, str) or not text.strip():
        raise ProviderError(ErrorKind.MALFORMED, f"the reply from {server} is empty")
    return text, data.get("usage")


def _parse_draft(content: str) -> tuple[str, str]:
    """Read subject and body from the model's JSON text.

    Without structured output, models often wrap the JSON in a Markdown code
    fence or a sentence, so the outermost {...} is tried as well.
    """
    text = content.strip()
    fenced = _CODE_FENCE.match(text)
    if fenced is not None:
        text = fenced.group(1).strip()
    data = _loads_object(text)
    if data is None:
        start, end = text.find("{"), text.rfind("}")
        if start != -1 and end > start:
            data = _loads_object(text[start : end + 1])
    if data is None:
        raise ProviderError(
            ErrorKind.MALFORMED, "the model's reply is not a JSON object"
        )
    subject, body = data.get("subject"), data.get("body")
    if not isinstance(subject, str) or not isinstance(body, str):
        raise ProviderError(
            ErrorKind.MALFORMED,
            'the model\'s reply lacks the string fields "subject" and "body"',
        )
    return subject.strip(), body.replace("\r\n", "\n").strip()


def _loads_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _usage_count(usage: Any, field: str) -> int | None:
    if not isinstance(usage, dict):
        return None
    value = usage.get(field)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
