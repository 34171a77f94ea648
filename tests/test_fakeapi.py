"""The fake chat-completions server, through raw HTTP and the real openai client."""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests import fakeapi
from tests.fakeapi import FakeChatServer

REPO_ROOT = Path(__file__).resolve().parent.parent
DONOR_MESSAGE = (
    "Donor data:\n"
    + json.dumps(
        {
            "display_name": "Julia Morrison",
            "last_gift": {"amount": "$200.00", "date": "2018-07-01"},
        }
    )
    + "\nThank them."
)


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    with FakeChatServer() as running:
        yield running


def post_chat(
    server: FakeChatServer, content: str = "hello", *, timeout: float = 5.0
) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps(
        {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": content}]}
    )
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        connection.request(
            "POST",
            "/v1/chat/completions",
            body=body,
            headers={
                "Content-Type": "application/json",
                "Authorization": "Bearer sk-abc",
            },
        )
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


def message_of(raw: bytes) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(raw)["choices"][0]["message"]
    return message


def test_ok_reply_uses_donor_facts(server: FakeChatServer) -> None:
    status, headers, raw = post_chat(server, DONOR_MESSAGE)

    assert status == 200
    assert headers["content-type"] == "application/json"
    payload = json.loads(raw)
    draft = json.loads(payload["choices"][0]["message"]["content"])
    assert draft["subject"] == "Thank you, Julia Morrison"
    assert draft["body"].startswith("Dear Julia Morrison,")
    assert "$200.00 on 2018-07-01" in draft["body"]
    assert payload["choices"][0]["finish_reason"] == "stop"
    assert payload["model"] == "gpt-4.1-mini"
    assert payload["usage"]["prompt_tokens"] > 0
    assert payload["usage"]["completion_tokens"] > 0
    assert payload["usage"]["total_tokens"] == (
        payload["usage"]["prompt_tokens"] + payload["usage"]["completion_tokens"]
    )


def test_ok_reply_without_donor_data(server: FakeChatServer) -> None:
    _, _, raw = post_chat(server, "no data { here")

    draft = json.loads(message_of(raw)["content"])
    assert draft["body"].startswith("Dear Friend,")


def test_ok_overrides_fields(server: FakeChatServer) -> None:
    server.enqueue(fakeapi.ok(subject="Custom", body="Custom body"))

    _, _, raw = post_chat(server, DONOR_MESSAGE)

    assert json.loads(message_of(raw)["content"]) == {
        "subject": "Custom",
        "body": "Custom body",
    }


@pytest.mark.parametrize(
    ("behaviour", "status", "code"),
    [
        (fakeapi.rate_limited(), 429, "rate_limit_exceeded"),
        (fakeapi.quota(), 429, "insufficient_quota"),
        (fakeapi.invalid_key(), 401, "invalid_api_key"),
        (fakeapi.server_error(), 500, None),
        (fakeapi.server_error(503), 503, None),
        (fakeapi.bad_request(code="bad"), 400, "bad"),
        (fakeapi.model_not_found(), 404, "model_not_found"),
    ],
)
def test_error_behaviours_shape(
    server: FakeChatServer, behaviour: fakeapi.Behaviour, status: int, code: str | None
) -> None:
    server.enqueue(behaviour)

    received, headers, raw = post_chat(server)

    assert received == status
    assert headers["content-type"] == "application/json"
    error = json.loads(raw)["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert "type" in error


def test_rate_limited_retry_after_header(server: FakeChatServer) -> None:
    server.enqueue(
        fakeapi.rate_limited(2), fakeapi.rate_limited(0.5), fakeapi.rate_limited(None)
    )

    whole = post_chat(server)[1]
    fraction = post_chat(server)[1]
    absent = post_chat(server)[1]

    assert whole["retry-after"] == "2"
    assert fraction["retry-after"] == "0.5"
    assert "retry-after" not in absent


def test_invalid_key_echoes_token(server: FakeChatServer) -> None:
    server.enqueue(fakeapi.invalid_key())

    _, _, raw = post_chat(server)

    assert "sk-abc" in json.loads(raw)["error"]["message"]


@pytest.mark.parametrize(
    ("behaviour", "finish_reason"),
    [
        (fakeapi.truncated(), "length"),
        (fakeapi.content_filter(), "content_filter"),
        (fakeapi.malformed(), "stop"),
        (fakeapi.placeholder(), "stop"),
        (fakeapi.refusal(), "stop"),
    ],
)
def test_completion_behaviours_finish_reason(
    server: FakeChatServer, behaviour: fakeapi.Behaviour, finish_reason: str
) -> None:
    server.enqueue(behaviour)

    status, _, raw = post_chat(server)

    assert status == 200
    assert json.loads(raw)["choices"][0]["finish_reason"] == finish_reason


def test_completion_behaviour_contents(server: FakeChatServer) -> None:
    server.enqueue(
        fakeapi.malformed(),
        fakeapi.placeholder(),
        fakeapi.refusal(),
        fakeapi.truncated(),
        fakeapi.reply_content("exact text", "stop"),
    )

    malformed = message_of(post_chat(server)[2])
    placeholder = message_of(post_chat(server)[2])
    refusal = message_of(post_chat(server)[2])
    truncated = message_of(post_chat(server)[2])
    exact = message_of(post_chat(server)[2])

    with pytest.raises(ValueError):
        json.loads(malformed["content"])
    assert "{first_name}" in json.loads(placeholder["content"])["body"]
    assert refusal["content"] is None
    assert refusal["refusal"]
    with pytest.raises(ValueError):
        json.loads(truncated["content"])
    assert exact["content"] == "exact text"


def test_bad_body_is_not_json(server: FakeChatServer) -> None:
    server.enqueue(fakeapi.bad_body())

    status, headers, raw = post_chat(server)

    assert status == 200
    assert headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(raw)


def test_custom_behaviour(server: FakeChatServer) -> None:
    server.enqueue(
        fakeapi.custom(418, {"teapot": True}, {"X-Extra": "1"}),
        fakeapi.custom(200, raw_body=b"raw", headers={"Content-Type": "text/plain"}),
    )

    status, headers, raw = post_chat(server)
    raw_status, raw_headers, raw_body = post_chat(server)

    assert status == 418
    assert headers["x-extra"] == "1"
    assert json.loads(raw) == {"teapot": True}
    assert raw_status == 200
    assert raw_headers["content-type"] == "text/plain"
    assert raw_body == b"raw"


def test_enqueue_order_then_default(server: FakeChatServer) -> None:
    server.enqueue(fakeapi.server_error(), fakeapi.rate_limited())

    statuses = [post_chat(server)[0] for _ in range(3)]

    assert statuses == [500, 429, 200]
    assert [r.behaviour for r in server.requests] == [
        "server_error",
        "rate_limited",
        "ok",
    ]


def test_rule_matches_text_and_last_repeats(server: FakeChatServer) -> None:
    server.add_rule("Morrison", fakeapi.server_error(), fakeapi.refusal())

    first = post_chat(server, DONOR_MESSAGE)[0]
    other = post_chat(server, "Someone else")[0]
    second = message_of(post_chat(server, DONOR_MESSAGE)[2])
    third = message_of(post_chat(server, DONOR_MESSAGE)[2])

    assert first == 500
    assert other == 200
    assert second["refusal"]
    assert third["refusal"]


def test_newer_rule_takes_precedence(server: FakeChatServer) -> None:
    server.add_rule("Morrison", fakeapi.server_error())
    server.add_rule("Julia", fakeapi.quota())

    assert post_chat(server, DONOR_MESSAGE)[0] == 429

    server.clear_rules()

    assert post_chat(server, DONOR_MESSAGE)[0] == 200


def test_queue_before_rules(server: FakeChatServer) -> None:
    server.add_rule("Morrison", fakeapi.server_error())
    server.enqueue(fakeapi.quota())

    assert post_chat(server, DONOR_MESSAGE)[0] == 429
    assert post_chat(server, DONOR_MESSAGE)[0] == 500


def test_add_rule_requires_behaviour(server: FakeChatServer) -> None:
    with pytest.raises(ValueError, match="at least one behaviour"):
        server.add_rule("x")


def test_random_errors_follow_seed() -> None:
    def statuses(seed: int) -> list[int]:
        with FakeChatServer(seed=seed, rate_429=0.3, rate_500=0.3) as running:
            return [post_chat(running)[0] for _ in range(40)]

    first = statuses(1)

    assert first == statuses(1)
    assert first != statuses(2)
    assert 429 in first
    assert 500 in first
    assert 200 in first


def test_random_429_retry_after_setting() -> None:
    with FakeChatServer(rate_429=1.0, retry_after=None) as running:
        status, headers, _ = post_chat(running)

    assert status == 429
    assert "retry-after" not in headers


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency": -1},
        {"rate_429": 1.5},
        {"rate_500": -0.1},
        {"rate_429": 0.6, "rate_500": 0.6},
    ],
)
def test_invalid_settings_raise(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FakeChatServer(**kwargs)


def test_records_requests(server: FakeChatServer) -> None:
    before = time.monotonic()

    post_chat(server, DONOR_MESSAGE)

    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-abc"
    assert request.body["model"] == "gpt-4.1-mini"
    assert request.message_text == DONOR_MESSAGE
    assert request.time >= before
    assert request.behaviour == "ok"


def test_invalid_json_request(server: FakeChatServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("POST", "/v1/chat/completions", body=b"{not json")
        response = connection.getresponse()
        status, raw = response.status, response.read()
    finally:
        connection.close()

    assert status == 400
    assert "parse" in json.loads(raw)["error"]["message"]
    assert server.requests[0].behaviour == "invalid_json"


def test_unknown_path_404(server: FakeChatServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("GET", "/v2/unknown")
        response = connection.getresponse()
        status, raw = response.status, response.read()
    finally:
        connection.close()

    assert status == 404
    assert "Invalid URL" in json.loads(raw)["error"]["message"]


def test_set_latency_delays_replies(server: FakeChatServer) -> None:
    server.set_latency(0.2)
    started = time.monotonic()

    post_chat(server)

    assert time.monotonic() - started >= 0.2
    with pytest.raises(ValueError):
        server.set_latency(-0.5)


def test_hang_until_released(server: FakeChatServer) -> None:
    server.enqueue(fakeapi.hang())
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            outcome.append(post_chat(server, timeout=10)[0])
        except (http.client.HTTPException, OSError) as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    server.wait_for_requests(1)
    assert outcome == []

    server.release_hangs()
    caller.join(timeout=5)

    assert not caller.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], http.client.RemoteDisconnected | ConnectionError)
    assert post_chat(server)[0] == 200


def test_stop_drops_hung_requests() -> None:
    running = FakeChatServer()
    running.start()
    running.enqueue(fakeapi.hang(), fakeapi.hang())
    outcomes: list[BaseException] = []

    def call() -> None:
        try:
            post_chat(running, timeout=10)
        except (http.client.HTTPException, OSError) as exc:
            outcomes.append(exc)

    callers = [threading.Thread(target=call) for _ in range(2)]
    for caller in callers:
        caller.start()
    running.wait_for_requests(2)
    started = time.monotonic()

    running.stop()

    assert time.monotonic() - started < 2.0
    for caller in callers:
        caller.join(timeout=5)
        assert not caller.is_alive()
    assert len(outcomes) == 2


def test_wait_for_requests_timeout(server: FakeChatServer) -> None:
    with pytest.raises(TimeoutError, match="0 of 1 requests"):
        server.wait_for_requests(1, timeout=0.05)


def test_start_twice_raises(server: FakeChatServer) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        server.start()


async def test_openai_client_models_and_chat(server: FakeChatServer) -> None:
    client = openai.AsyncOpenAI(
        api_key="sk-abc", base_url=server.base_url, max_retries=0
    )
    try:
        models = [model.id async for model in await client.models.list()]
        completion = await client.chat.completions.create(
            model="gpt-4.1-nano", messages=[{"role": "user", "content": DONOR_MESSAGE}]
        )
    finally:
        await client.close()

    assert models == list(fakeapi.MODELS)
    assert completion.model == "gpt-4.1-nano"
    content = completion.choices[0].message.content
    assert content is not None
    assert json.loads(content)["subject"] == "Thank you, Julia Morrison"
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0


async def test_openai_client_sees_rate_limit(server: FakeChatServer) -> None:
    server.enqueue(fakeapi.rate_limited(3))
    client = openai.AsyncOpenAI(
        api_key="sk-abc", base_url=server.base_url, max_retries=0
    )
    try:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
    finally:
        await client.close()

    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "3"


async def test_concurrent_requests_overlap() -> None:
    # Sequential handling would take 64 x 0.1 s = 6.4 s.
    with FakeChatServer(latency=0.1) as running:
        client = openai.AsyncOpenAI(
            api_key="sk-abc", base_url=running.base_url, max_retries=0
        )
        try:
            started = time.monotonic()
            results = await asyncio.gather(
                *[
                    client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": f"n{i}"}]
                    )
                    for i in range(64)
                ]
            )
            elapsed = time.monotonic() - started
        finally:
            await client.close()

    assert len(results) == 64
    assert len(running.requests) == 64
    assert elapsed < 2.0


def test_cli_prints_url_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeapi", "--port", "0", "--seed", "1"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        assert line.endswith("/v1")
        port = int(line.rsplit(":", 1)[1].split("/", 1)[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/v1/models")
        response = connection.getresponse()
        assert response.status == 200
        response.read()
        connection.close()
    finally:
        process.terminate()
        returncode = process.wait(timeout=10)

    assert returncode == 0


def test_cli_rejects_bad_rate() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "tests.fakeapi", "--rate-429", "2"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert completed.returncode == 2
    assert "rate_429 must be between 0 and 1" in completed.stdout
