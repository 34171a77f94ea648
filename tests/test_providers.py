"""Providers through the real openai client against the local fake server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from commjobs_tui.core.errors import UserError
from commjobs_tui.core.prompt import (
    DATA_BEGIN,
    DATA_END,
    DonorFacts,
    GiftFact,
    OrgProfile,
    check_draft,
    load_donor_facts,
)
from commjobs_tui.core.providers import (
    Draft,
    ErrorKind,
    OfflineProvider,
    OpenAIProvider,
    ProviderError,
    create_provider,
    parse_retry_after,
)
from commjobs_tui.core.providers.offline import TEMPLATE_NOTICE, choose_template
from commjobs_tui.core.settings import Settings
from commjobs_tui.db.models import Donation, Donor
from commjobs_tui.db.store import Store
from tests import fakeapi
from tests.fakeapi import FakeChatServer

API_KEY = "sk-test-4f9a1c2e7b3d5a8f"
ORG = OrgProfile(
    name="Bay Area Birds",
    signer_name="Ana Ruiz",
    signer_title="Executive Director",
    writing_guidelines="Warm and brief.",
)
FACTS = DonorFacts(
    donor_id=1,
    display_name="Nicole and Samuel Chapman",
    salutation="Ms",
    first_name="Nicole and Samuel",
    last_name="Chapman",
    organization_name=None,
    city="San Geronimo",
    state="CA",
    notes="Met at the spring bird count.",
    tags="major",
    gifts=(
        GiftFact(10_000, "USD", dt.date(2019, 3, 5), "Winter Appeal", "General Fund"),
        GiftFact(25_000, "USD", dt.date(2020, 6, 1), None, None),
    ),
    communications=(),
)
NO_GIFTS = DonorFacts(
    donor_id=2,
    display_name="Wells Fargo",
    salutation=None,
    first_name=None,
    last_name=None,
    organization_name="Wells Fargo",
    city=None,
    state=None,
    notes=None,
    tags=None,
    gifts=(),
    communications=(),
)
INSTRUCTION = "Thank them for their support of the scholarship fund."


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    with FakeChatServer() as running:
        yield running


def make_settings(server: FakeChatServer, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "base_url": server.base_url,
        "openai_api_key": API_KEY,
        "request_timeout": 5.0,
    }
    values.update(changes)
    return Settings(**values)


@pytest.fixture
async def provider(server: FakeChatServer) -> AsyncIterator[OpenAIProvider]:
    created = OpenAIProvider(make_settings(server), model="gpt-4.1-mini")
    try:
        yield created
    finally:
        await created.aclose()


async def draft_error(
    provider: OpenAIProvider, facts: DonorFacts = FACTS
) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await provider.draft(facts, INSTRUCTION, ORG)
    return caught.value


def completion(content: str, usage: dict[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4.1-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


async def test_openai_draft_success(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    draft = await provider.draft(FACTS, INSTRUCTION, ORG)

    assert isinstance(draft, Draft)
    assert draft.subject == "Thank you, Nicole and Samuel Chapman"
    assert "Dear Nicole and Samuel Chapman" in draft.body
    assert "$250.00" in draft.body
    assert "2020-06-01" in draft.body
    assert draft.prompt_tokens > 50
    assert draft.completion_tokens > 10
    assert check_draft(draft.subject, draft.body) is None
    assert len(server.chat_requests) == 1


async def test_openai_request_shape(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    await provider.draft(FACTS, INSTRUCTION, ORG)

    request = server.chat_requests[0]
    assert request.method == "POST"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "gpt-4.1-mini"
    response_format = request.body["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]
    assert schema["strict"] is True
    assert schema["schema"]["required"] == ["subject", "body"]
    assert set(schema["schema"]["properties"]) == {"subject", "body"}
    assert schema["schema"]["additionalProperties"] is False
    system, user = request.body["messages"]
    assert system["role"] == "system"
    assert "never an instruction" in system["content"]
    assert user["role"] == "user"
    assert DATA_BEGIN in user["content"]
    assert DATA_END in user["content"]
    assert user["content"].index(DATA_END) < user["content"].index(INSTRUCTION)
    assert '"display_name": "Nicole and Samuel Chapman"' in user["content"]


async def test_openai_rate_limited_retry_after(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.enqueue(fakeapi.rate_limited(retry_after=2.5))

    error = await draft_error(provider)

    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after == 2.5
    assert error.status_code == 429
    assert error.transient
    assert not error.fatal_for_job


async def test_openai_rate_limited_without_header(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.enqueue(fakeapi.rate_limited(retry_after=None))

    error = await draft_error(provider)

    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after is None


async def test_openai_retry_after_ms_header(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    error_body = {"error": {"message": "slow down", "type": "requests", "code": None}}
    server.enqueue(
        fakeapi.custom(429, error_body, {"retry-after-ms": "1500", "Retry-After": "9"})
    )

    error = await draft_error(provider)

    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after == 1.5


async def test_openai_retry_after_http_date(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    error_body = {"error": {"message": "slow down", "type": "requests", "code": None}}
    server.enqueue(fakeapi.custom(429, error_body, {"Retry-After": when}))

    error = await draft_error(provider)

    assert error.retry_after is not None
    assert 25 <= error.retry_after <= 31


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"Retry-After-Ms": "250"}, 0.25),
        ({"retry-after-ms": "bad", "Retry-After": "4"}, 4.0),
        ({"Retry-After": "-5"}, 0.0),
        ({"Retry-After": "Thu, 01 Jan 1970 00:00:10 GMT"}, 0.0),
        ({"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"}, 60.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "inf"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after_cases(
    headers: dict[str, str], expected: float | None
) -> None:
    # "now" is 40 s after the epoch, so the 1970 date lies 60 s ahead.
    assert parse_retry_after(headers, now=40.0) == expected


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_openai_server_error(
    server: FakeChatServer, provider: OpenAIProvider, status: int
) -> None:
    server.enqueue(fakeapi.server_error(status))

    error = await draft_error(provider)

    assert error.kind is ErrorKind.SERVER_ERROR
    assert error.status_code == status
    assert error.transient
    assert not error.fatal_for_job


async def test_openai_hang_times_out(server: FakeChatServer) -> None:
    timeout = 0.5
    hung = OpenAIProvider(make_settings(server, request_timeout=timeout), model="m")
    server.enqueue(fakeapi.hang())
    started = time.monotonic()
    try:
        error = await draft_error(hung)
    finally:
        await hung.aclose()
    elapsed = time.monotonic() - started

    assert error.kind is ErrorKind.TIMEOUT
    assert error.transient
    assert "0.5 s" in error.message
    assert timeout * 0.9 <= elapsed < timeout + 1.0


async def test_openai_slow_reply_times_out(server: FakeChatServer) -> None:
    slow = OpenAIProvider(make_settings(server, request_timeout=0.3), model="m")
    server.set_latency(3.0)
    try:
        error = await draft_error(slow)
    finally:
        await slow.aclose()

    assert error.kind is ErrorKind.TIMEOUT


async def test_openai_connection_refused(server: FakeChatServer) -> None:
    settings = make_settings(server)
    server.stop()
    closed = OpenAIProvider(settings, model="m")
    try:
        error = await draft_error(closed)
    finally:
        await closed.aclose()

    assert error.kind is ErrorKind.CONNECTION
    assert error.transient
    assert "127.0.0.1" in error.message


@pytest.mark.parametrize(
    "behaviour",
    [
        fakeapi.malformed(),
        fakeapi.bad_body(),
        fakeapi.custom(200, {"object": "chat.completion", "choices": []}),
        fakeapi.custom(200, {"unexpected": True}),
        fakeapi.custom(200, [1, 2, 3]),
        fakeapi.custom(200, raw_body=b""),
        fakeapi.reply_content(None),
        fakeapi.reply_content("   "),
        fakeapi.reply_content('{"subject": "Hi"}'),
        fakeapi.reply_content('{"subject": 3, "body": "Dear Ann"}'),
        fakeapi.reply_content('["subject", "body"]'),
    ],
    ids=[
        "prose",
        "html_body",
        "no_choices",
        "wrong_shape",
        "json_array",
        "empty_body",
        "null_content",
        "blank_content",
        "missing_body",
        "subject_not_string",
        "content_array",
    ],
)
async def test_openai_malformed_replies(
    server: FakeChatServer, provider: OpenAIProvider, behaviour: fakeapi.Behaviour
) -> None:
    server.enqueue(behaviour)

    error = await draft_error(provider)

    assert error.kind is ErrorKind.MALFORMED
    assert error.transient
    assert not error.fatal_for_job


async def test_openai_refusal(server: FakeChatServer, provider: OpenAIProvider) -> None:
    server.enqueue(fakeapi.refusal())

    error = await draft_error(provider)

    assert error.kind is ErrorKind.REFUSED
    assert not error.transient
    assert not error.fatal_for_job


async def test_openai_content_filter(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.enqueue(fakeapi.content_filter())

    error = await draft_error(provider)

    assert error.kind is ErrorKind.REFUSED
    assert not error.transient


async def test_openai_invalid_key(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.enqueue(fakeapi.invalid_key())

    error = await draft_error(provider)

    assert error.kind is ErrorKind.AUTH
    assert error.fatal_for_job
    assert not error.transient
    assert "OPENAI_API_KEY" in error.message
    assert API_KEY not in error.message
    assert API_KEY not in repr(error)


async def test_openai_permission_denied(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    error_body = {"error": {"message": "no access", "type": "invalid_request_error"}}
    server.enqueue(fakeapi.custom(403, error_body))

    error = await draft_error(provider)

    assert error.kind is ErrorKind.AUTH
    assert error.fatal_for_job


async def test_openai_quota(server: FakeChatServer, provider: OpenAIProvider) -> None:
    server.enqueue(fakeapi.quota())

    error = await draft_error(provider)

    assert error.kind is ErrorKind.QUOTA
    assert error.fatal_for_job
    assert not error.transient
    assert "add credit or use another key" in error.message


async def test_openai_model_not_found(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.enqueue(fakeapi.model_not_found())

    error = await draft_error(provider)

    assert error.kind is ErrorKind.MODEL_NOT_FOUND
    assert error.fatal_for_job
    assert "'gpt-4.1-mini'" in error.message
    assert "--model" in error.message


async def test_openai_truncated(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.enqueue(fakeapi.truncated())

    error = await draft_error(provider)

    assert error.kind is ErrorKind.TRUNCATED
    assert error.transient


async def test_openai_bad_request(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.enqueue(
        fakeapi.bad_request(
            "This model's maximum context length is 8192 tokens.",
            code="context_length_exceeded",
        )
    )

    error = await draft_error(provider)

    assert error.kind is ErrorKind.BAD_REQUEST
    assert not error.transient
    assert not error.fatal_for_job
    assert "context_length_exceeded" in error.message
    assert "maximum context length is 8192 tokens" in error.message
    assert len(server.chat_requests) == 1


async def test_openai_bad_request_message_redacted(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    echoed = (
        f"Invalid content for Nicole and Samuel Chapman of San Geronimo "
        f"(key {API_KEY}, other key sk-proj-abcdef123456)"
    )
    server.enqueue(fakeapi.bad_request(echoed))

    error = await draft_error(provider)

    assert error.kind is ErrorKind.BAD_REQUEST
    assert API_KEY not in error.message
    assert "sk-proj-abcdef123456" not in error.message
    assert "Chapman" not in error.message
    assert "San Geronimo" not in error.message
    assert "Invalid content for" in error.message


async def test_openai_placeholder_invalid_output(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.enqueue(fakeapi.placeholder())

    error = await draft_error(provider)

    assert error.kind is ErrorKind.INVALID_OUTPUT
    assert error.transient
    assert "{first_name}" in error.message


async def test_openai_long_subject_invalid_output(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.enqueue(fakeapi.ok(subject="S" * 200))

    error = await draft_error(provider)

    assert error.kind is ErrorKind.INVALID_OUTPUT
    assert "200 characters" in error.message


async def test_openai_invalid_output_hides_donor_name(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.enqueue(fakeapi.ok(body="Dear {Nicole and Samuel Chapman}, thank you."))

    error = await draft_error(provider)

    assert error.kind is ErrorKind.INVALID_OUTPUT
    assert "Chapman" not in error.message


@pytest.mark.parametrize(
    "content",
    [
        '```json\n{"subject": "Thank you", "body": "Dear Nicole,\\n\\nThanks."}\n```',
        'Here it is:\n{"subject": "Thank you", "body": "Dear Nicole,\\n\\nThanks."}',
        '  {"subject": " Thank you ", "body": "Dear Nicole,\\r\\n\\r\\nThanks.\\n"}  ',
    ],
    ids=["code_fence", "leading_prose", "whitespace"],
)
async def test_openai_lenient_json_parsing(
    server: FakeChatServer, provider: OpenAIProvider, content: str
) -> None:
    server.enqueue(fakeapi.reply_content(content))

    draft = await provider.draft(FACTS, INSTRUCTION, ORG)

    assert draft.subject == "Thank you"
    assert draft.body == "Dear Nicole,\n\nThanks."


async def test_openai_usage_missing_estimates(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    content = json.dumps({"subject": "Thank you", "body": "Dear Nicole, thanks."})
    server.enqueue(fakeapi.custom(200, completion(content)))

    draft = await provider.draft(FACTS, INSTRUCTION, ORG)

    assert draft.prompt_tokens > 50
    assert draft.completion_tokens == -(-len(content) // 4)


async def test_openai_usage_reported(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    content = json.dumps({"subject": "Thank you", "body": "Dear Nicole, thanks."})
    usage = {"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366}
    server.enqueue(fakeapi.custom(200, completion(content, usage)))

    draft = await provider.draft(FACTS, INSTRUCTION, ORG)

    assert draft.prompt_tokens == 321
    assert draft.completion_tokens == 45


async def test_openai_response_format_fallback(
    server: FakeChatServer, provider: OpenAIProvider, caplog: pytest.LogCaptureFixture
) -> None:
    server.enqueue(
        fakeapi.bad_request(
            "Invalid parameter: 'response_format' of type 'json_schema' is not "
            "supported with this model.",
            param="response_format",
        )
    )

    with caplog.at_level(logging.WARNING):
        first = await provider.draft(FACTS, INSTRUCTION, ORG)
        second = await provider.draft(FACTS, INSTRUCTION, ORG)

    assert first.subject == second.subject
    requests = server.chat_requests
    assert len(requests) == 3
    assert "response_format" in requests[0].body
    assert "response_format" not in requests[1].body
    assert "response_format" not in requests[2].body
    assert not provider.uses_json_schema
    assert sum("rejected response_format" in r.message for r in caplog.records) == 1


async def test_openai_fallback_on_422_message(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    error_body = {"detail": "json_schema response format is not supported"}
    server.enqueue(fakeapi.custom(422, error_body))

    await provider.draft(FACTS, INSTRUCTION, ORG)

    assert [("response_format" in r.body) for r in server.chat_requests] == [
        True,
        False,
    ]


async def test_openai_fallback_only_once_per_call(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    rejection = fakeapi.bad_request("response_format is not supported")
    server.enqueue(rejection, fakeapi.bad_request("still broken"))

    error = await draft_error(provider)

    assert error.kind is ErrorKind.BAD_REQUEST
    assert "still broken" in error.message
    assert len(server.chat_requests) == 2


async def test_openai_unrelated_400_keeps_schema(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.enqueue(fakeapi.bad_request("messages[1].content is too long"))

    error = await draft_error(provider)
    await provider.draft(FACTS, INSTRUCTION, ORG)

    assert error.kind is ErrorKind.BAD_REQUEST
    assert provider.uses_json_schema
    assert all("response_format" in r.body for r in server.chat_requests)


async def test_openai_rule_scripts_one_donor(
    server: FakeChatServer, provider: OpenAIProvider
) -> None:
    server.add_rule("Wells Fargo", fakeapi.refusal())

    refused = await draft_error(provider, NO_GIFTS)
    draft = await provider.draft(FACTS, INSTRUCTION, ORG)

    assert refused.kind is ErrorKind.REFUSED
    assert "Nicole" in draft.subject


async def test_openai_errors_hide_secrets_in_logs(
    server: FakeChatServer, provider: OpenAIProvider, caplog: pytest.LogCaptureFixture
) -> None:
    behaviours = [
        fakeapi.invalid_key(),
        fakeapi.quota(),
        fakeapi.rate_limited(),
        fakeapi.bad_request(f"bad request for Nicole and Samuel Chapman, {API_KEY}"),
        fakeapi.placeholder(),
        fakeapi.malformed(),
    ]
    messages = []
    with caplog.at_level(logging.DEBUG):
        for behaviour in behaviours:
            server.enqueue(behaviour)
            messages.append((await draft_error(provider)).message)

    for message in messages:
        assert API_KEY not in message
        assert "Chapman" not in message
    assert API_KEY not in caplog.text
    assert "Nicole and Samuel" not in caplog.text


async def test_base_url_without_key_uses_dummy(server: FakeChatServer) -> None:
    settings = Settings(base_url=server.base_url, request_timeout=5.0)
    local = create_provider(settings, provider="openai", model="llama3.2")
    try:
        draft = await local.draft(FACTS, INSTRUCTION, ORG)
    finally:
        await local.aclose()

    assert draft.subject
    request = server.chat_requests[0]
    assert request.headers["authorization"] == "Bearer not-needed"
    assert request.body["model"] == "llama3.2"


def test_openai_requires_key_or_base_url() -> None:
    with pytest.raises(UserError, match="OPENAI_API_KEY is not set"):
        create_provider(Settings(), provider="openai", model="gpt-4.1-mini")


@pytest.mark.parametrize("base_url", ["localhost:11434/v1", "ftp://host/v1", "http://"])
def test_openai_rejects_invalid_base_url(base_url: str) -> None:
    settings = Settings(base_url=base_url, openai_api_key=API_KEY)

    with pytest.raises(UserError, match="invalid base URL"):
        create_provider(settings, provider="openai", model="gpt-4.1-mini")


def test_create_provider_unknown_name() -> None:
    with pytest.raises(UserError, match="unknown provider 'claude'"):
        create_provider(Settings(), provider="claude", model="x")


async def test_create_provider_empty_model(server: FakeChatServer) -> None:
    with pytest.raises(UserError, match="model name is empty"):
        create_provider(make_settings(server), provider="openai", model=" ")


async def test_create_provider_auto(server: FakeChatServer) -> None:
    without_key = create_provider(Settings(), provider="auto", model="gpt-4.1-mini")
    with_key = create_provider(make_settings(server), provider="auto", model="m")
    try:
        assert without_key.name == "offline"
        assert without_key.model == "offline"
        assert with_key.name == "openai"
        assert with_key.model == "m"
    finally:
        await with_key.aclose()
        await without_key.aclose()


async def test_provider_settings_timeout(server: FakeChatServer) -> None:
    created = OpenAIProvider(make_settings(server, request_timeout=12.5), model="m")
    try:
        assert created.timeout == 12.5
    finally:
        await created.aclose()


async def test_offline_thank_you_with_gifts() -> None:
    offline = OfflineProvider()

    draft = await offline.draft(FACTS, INSTRUCTION, ORG)

    assert draft.subject == "Thank you, Nicole and Samuel"
    assert draft.body.startswith(TEMPLATE_NOTICE)
    assert "without an AI model" in draft.body
    assert "Dear Nicole and Samuel," in draft.body
    assert "$250.00 on June 1, 2020" in draft.body
    assert "Since your first gift in 2019, you have given twice, $350.00 in all." in (
        draft.body
    )
    assert draft.body.endswith("Ana Ruiz\nExecutive Director\nBay Area Birds")
    assert draft.prompt_tokens == 0
    assert draft.completion_tokens == 0
    assert check_draft(draft.subject, draft.body) is None


async def test_offline_without_gifts() -> None:
    offline = OfflineProvider()

    draft = await offline.draft(NO_GIFTS, INSTRUCTION, ORG)

    assert draft.subject == "Thank you, Wells Fargo"
    assert "Dear friends at Wells Fargo," in draft.body
    assert "$" not in draft.body
    assert "gift of" not in draft.body
    assert "without an AI model" in draft.body
    assert check_draft(draft.subject, draft.body) is None


async def test_offline_renewal_template() -> None:
    draft = await OfflineProvider().draft(FACTS, "Ask lapsed donors to renew.", ORG)

    assert draft.subject == "Will you renew your support of Bay Area Birds?"
    assert "Your gift of $250.00 on June 1, 2020" in draft.body
    assert "renew your support" in draft.body
    assert check_draft(draft.subject, draft.body) is None


async def test_offline_general_template() -> None:
    draft = await OfflineProvider().draft(FACTS, "Share our spring news.", ORG)

    assert draft.subject == "A note from Bay Area Birds"
    assert "including your gift of $250.00 on June 1, 2020" in draft.body
    assert check_draft(draft.subject, draft.body) is None


@pytest.mark.parametrize(
    ("instruction", "facts", "expected"),
    [
        ("Thank them warmly", FACTS, "thank_you"),
        ("Show our appreciation", FACTS, "thank_you"),
        ("Thank lapsed donors and ask them to renew", FACTS, "renewal"),
        ("Win back donors who have not given", FACTS, "renewal"),
        ("Ask lapsed donors to renew", NO_GIFTS, "general"),
        ("Invite them to the gala", FACTS, "general"),
    ],
)
def test_offline_template_choice(
    instruction: str, facts: DonorFacts, expected: str
) -> None:
    assert choose_template(instruction, facts) == expected


async def test_offline_is_deterministic() -> None:
    first = await OfflineProvider().draft(FACTS, INSTRUCTION, ORG)
    second = await OfflineProvider().draft(FACTS, INSTRUCTION, ORG)

    assert first == second


def make_named_donor(first_name: str) -> DonorFacts:
    return dataclasses.replace(
        NO_GIFTS, display_name=first_name, first_name=first_name, organization_name=None
    )


async def test_offline_strips_bracket_names() -> None:
    draft = await OfflineProvider().draft(make_named_donor("[Name]"), INSTRUCTION, ORG)

    assert "Dear Name," in draft.body
    assert check_draft(draft.subject, draft.body) is None


async def test_offline_placeholder_name_fails() -> None:
    with pytest.raises(ProviderError) as caught:
        await OfflineProvider().draft(make_named_donor("XXX"), INSTRUCTION, ORG)

    assert caught.value.kind is ErrorKind.INVALID_OUTPUT
    assert not caught.value.transient


async def test_offline_long_org_subject_fits() -> None:
    org = OrgProfile("A" * 300, "Ana", "", "")

    draft = await OfflineProvider().draft(FACTS, "Share news.", org)

    assert len(draft.subject) <= 149
    assert check_draft(draft.subject, draft.body) is None
    assert draft.body.endswith("Ana\n" + "A" * 300)


async def test_offline_drafts_store_donors(store: Store) -> None:
    async with store.session() as session:
        person = Donor(first_name="Julia", last_name="Morrison")
        organization = Donor(organization_name="Chapman Family Donor Advised Fund")
        session.add_all([person, organization])
        await session.flush()
        session.add(
            Donation(
                donor_id=person.id,
                amount_cents=20_000,
                donated_on=dt.date(2018, 7, 1),
                campaign="Summer Fundraising Appeal 2018-2019",
            )
        )
        await session.commit()
        ids = [person.id, organization.id]
    facts = await load_donor_facts(store, ids)
    offline = OfflineProvider()

    drafts = [await offline.draft(facts[i], "Thank them.", ORG) for i in ids]

    assert "$200.00 on July 1, 2018 to the Summer Fundraising Appeal 2018-2019" in (
        drafts[0].body
    )
    assert "Dear friends at Chapman Family Donor Advised Fund," in drafts[1].body
    for draft in drafts:
        assert check_draft(draft.subject, draft.body) is None
