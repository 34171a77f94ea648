"""A local HTTP server that speaks the OpenAI chat-completions protocol.

Tests, benchmarks and manual runs point `openai.AsyncOpenAI` at `base_url` and script
each reply with behaviours such as `rate_limited()` or `hang()`. The server listens
on 127.0.0.1 only. Run it by hand with

    python -m tests.fakeapi --port 0 --latency 0.1 --rate-429 0.1 --rate-500 0.1

which prints `listening on http://127.0.0.1:PORT/v1` and serves until stopped.

Each connection gets its own thread (stdlib `ThreadingHTTPServer`), which keeps
HTTP/1.1 keep-alive connections from the client's pool open between requests.
`test_concurrent_requests_overlap` checks that 64 concurrent requests with 0.1 s
latency are served in parallel.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import random
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MODELS = ("gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o-mini")
# Listen backlog. The stdlib default of 5 drops connection attempts when dozens
# of clients connect at once, and each dropped SYN costs the client a 1 s retry.
LISTEN_BACKLOG = 256
SUBJECT_MAX_LENGTH = 120


@dataclass(frozen=True)
class Behaviour:
    """One scripted reply to a chat-completions request.

    Build behaviours with the factory functions below (`ok()`, `hang()`, ...)
    rather than directly.
    """

    kind: str
    status: int = 200
    json_body: Any = None
    raw_body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    retry_after: float | None = None
    subject: str | None = None
    body: str | None = None
    message: str | None = None
    param: str | None = None
    code: str | None = None


def ok(*, subject: str | None = None, body: str | None = None) -> Behaviour:
    """Reply with a JSON draft that names the donor and their last gift.

    `subject` and `body` replace the generated fields.
    """
    return Behaviour("ok", subject=subject, body=body)


def rate_limited(retry_after: float | None = 1.0) -> Behaviour:
    """Reply 429 `rate_limit_exceeded`, with Retry-After unless it is None."""
    return Behaviour("rate_limited", status=429, retry_after=retry_after)


def server_error(status: int = 500) -> Behaviour:
    return Behaviour("server_error", status=status)


def hang() -> Behaviour:
    """Never reply. The connection drops on `release_hangs()` or `stop()`."""
    return Behaviour("hang")


def malformed() -> Behaviour:
    """Reply 200 with message content that is prose, not JSON."""
    return Behaviour("malformed")


def bad_body() -> Behaviour:
    """Reply 200 with a JSON content type but an HTML body."""
    return Behaviour("bad_body")


def refusal() -> Behaviour:
    """Reply 200 with `message.refusal` set and null content."""
    return Behaviour("refusal")


def content_filter() -> Behaviour:
    """Reply 200 with finish_reason "content_filter" and null content."""
    return Behaviour("content_filter")


def invalid_key() -> Behaviour:
    """Reply 401 `invalid_api_key`, echoing the bearer token in the message.

    The real API echoes a masked key. This echoes it whole, so tests can check
    that clients keep server messages out of what they show.
    """
    return Behaviour("invalid_key", status=401)


def quota() -> Behaviour:
    """Reply 429 `insufficient_quota`, which retrying does not fix."""
    return Behaviour("quota", status=429)


def truncated() -> Behaviour:
    """Reply 200 with half a JSON draft and finish_reason "length"."""
    return Behaviour("truncated")


def bad_request(
    message: str = "Invalid request.",
    *,
    param: str | None = None,
    code: str | None = None,
) -> Behaviour:
    return Behaviour("bad_request", status=400, message=message, param=param, code=code)


def model_not_found() -> Behaviour:
    """Reply 404 `model_not_found` for the requested model."""
    return Behaviour("model_not_found", status=404)


def reply_content(content: str | None, finish_reason: str = "stop") -> Behaviour:
    """Reply 200 with exactly this message content and finish_reason."""
    return Behaviour("content", body=content, message=finish_reason)


def placeholder() -> Behaviour:
    """Reply with a draft whose body still contains `{first_name}`."""
    return Behaviour("placeholder")


def custom(
    status: int,
    json_body: Any = None,
    headers: Mapping[str, str] | None = None,
    *,
    raw_body: bytes | None = None,
) -> Behaviour:
    """Reply with exactly this status, JSON body (or raw bytes) and headers."""
    return Behaviour(
        "custom",
        status=status,
        json_body=json_body,
        raw_body=raw_body,
        headers=tuple((headers or {}).items()),
    )


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it.

    Header names are lower case. `body` is the parsed JSON body, or None when the
    request had no body or an invalid one. `time` is `time.monotonic()` on arrival.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    time: float
    behaviour: str

    @property
    def message_text(self) -> str:
        """All message contents of a chat-completions request, joined by newlines."""
        return "\n".join(_message_texts(self.body))


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


@dataclass
class _Rule:
    contains: str
    behaviours: deque[Behaviour]


class _HTTPServer(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG
    # server_close() joins every handler thread, so stop() returns only after
    # all of them have exited.
    daemon_threads = False
    block_on_close = True

    def __init__(self, owner: FakeChatServer, port: int) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out close their end mid-request; that is expected.
        log.debug(
            "connection from %s ended with an error", client_address, exc_info=True
        )

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class FakeChatServer:
    """OpenAI-compatible chat-completions server on 127.0.0.1 for tests.

    Each chat-completions request takes the first behaviour that applies: the
    next queued one from `enqueue`, else the next one of the newest matching
    `add_rule`, else a random 429 or 500 at the configured rates, else `ok()`.
    All methods are thread-safe.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        seed: int = 0,
        rate_429: float = 0.0,
        rate_500: float = 0.0,
        retry_after: float | None = 1.0,
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency must be 0 or more seconds, not {latency}")
        for name, rate in (("rate_429", rate_429), ("rate_500", rate_500)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}")
        if rate_429 + rate_500 > 1.0:
            raise ValueError(
                f"rate_429 + rate_500 must be at most 1, not {rate_429 + rate_500}"
            )
        self._latency = latency
        self._random = random.Random(seed)
        self._rate_429 = rate_429
        self._rate_500 = rate_500
        self._retry_after = retry_after
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        self._queue: deque[Behaviour] = deque()
        self._rules: list[_Rule] = []
        self._requests: list[RecordedRequest] = []
        self._completion_counter = 0
        self._hang_release = threading.Event()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def __enter__(self) -> FakeChatServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, port: int = 0) -> None:
        """Bind the port on 127.0.0.1 (0 picks a free one) and serve in a thread."""
        if self._httpd is not None:
            raise RuntimeError("the server is already running")
        self._stopping.clear()
        self._httpd = _HTTPServer(self, port)
        port = self._httpd.server_address[1]
        self.base_url = f"http://{HOST}:{port}/v1"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fakeapi-{port}",
            daemon=True,
        )
        self._thread.start()
        log.debug("fake chat server listening on %s", self.base_url)

    def stop(self) -> None:
        """Stop serving, drop hung and idle connections and join every thread."""
        httpd = self._httpd
        if httpd is None:
            return
        self._stopping.set()
        self.release_hangs()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def enqueue(self, *behaviours: Behaviour) -> None:
        """Give the next chat-completions requests these behaviours, in order."""
        with self._lock:
            self._queue.extend(behaviours)

    def add_rule(self, contains: str, *behaviours: Behaviour) -> None:
        """Script requests whose messages contain `contains`.

        Matching requests take the behaviours in order, and the last one repeats,
        so `add_rule("Chapman", refusal())` refuses every request naming Chapman.
        A newer rule takes precedence over older ones that match the same request.
        """
        if not behaviours:
            raise ValueError("add_rule needs at least one behaviour")
        with self._lock:
            self._rules.append(_Rule(contains, deque(behaviours)))

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    def set_latency(self, seconds: float) -> None:
        """Delay every later reply by this many seconds."""
        if seconds < 0:
            raise ValueError(f"latency must be 0 or more seconds, not {seconds}")
        with self._lock:
            self._latency = seconds

    def release_hangs(self) -> None:
        """Drop the connections of requests that are hanging now.

        Requests that take `hang()` later hang again.
        """
        with self._lock:
            release = self._hang_release
            self._hang_release = threading.Event()
        release.set()

    def _choose(self, body: Any) -> Behaviour:
        text = "\n".join(_message_texts(body))
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            for rule in reversed(self._rules):
                if rule.contains in text:
                    if len(rule.behaviours) > 1:
                        return rule.behaviours.popleft()
                    return rule.behaviours[0]
            draw = self._random.random()
        if draw < self._rate_429:
            return rate_limited(self._retry_after)
        if draw < self._rate_429 + self._rate_500:
            return server_error(500)
        return ok()

    def wait_for_requests(
        self, count: int, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Block until `count` requests have arrived; return them all.

        Raises TimeoutError if fewer arrive within `timeout` seconds.
        """
        with self._recorded:
            arrived = self._recorded.wait_for(
                lambda: len(self._requests) >= count, timeout
            )
            if not arrived:
                raise TimeoutError(
                    f"{len(self._requests)} of {count} requests arrived "
                    f"within {timeout} s"
                )
            return list(self._requests)

    def _record(self, request: RecordedRequest) -> None:
        with self._recorded:
            self._requests.append(request)
            self._recorded.notify_all()

    def _hang_event(self) -> threading.Event:
        with self._lock:
            return self._hang_release

    def _current_latency(self) -> float:
        with self._lock:
            return self._latency

    def _next_completion_id(self) -> str:
        with self._lock:
            self._completion_counter += 1
            return f"chatcmpl-fake{self._completion_counter}"

    def _wait_latency(self) -> bool:
        """Wait out the latency; return False if the server is stopping."""
        latency = self._current_latency()
        if latency <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(latency)

    def _wait_until_released(self) -> None:
        release = self._hang_event()
        while not release.is_set() and not self._stopping.is_set():
            release.wait(0.05)

    def _reply_for(self, behaviour: Behaviour, body: Any, bearer: str) -> _Reply:
        model = str(body.get("model", "")) if isinstance(body, dict) else ""
        kind = behaviour.kind
        if kind == "ok":
            subject, text = _draft_for(body)
            return self._completion(
                body, behaviour.subject or subject, behaviour.body or text
            )

        if kind == "placeholder":
            subject, _ = _draft_for(body)
            text = "Dear {first_name},\n\nThank you for your gift.\n\nWith thanks"
            return self._completion(body, subject, text)

        if kind == "malformed":
            content = (
                "Sure! Here is the email you asked for:\n\nDear friend, thank you."
            )
            return self._completion_reply(body, content, "stop")

        if kind == "truncated":
            return self._completion_reply(
                body, '{"subject": "Thank you", "body": "Dear friend, your gi', "length"
            )

        if kind == "refusal":
            return self._completion_reply(
                body, None, "stop", refusal="I'm sorry, I can't help with that."
            )

        if kind == "content":
            return self._completion_reply(
                body, behaviour.body, behaviour.message or "stop"
            )

        if kind == "content_filter":
            return self._completion_reply(body, None, "content_filter")

        if kind == "bad_body":
            return _Reply(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>")

        if kind == "custom":
            if behaviour.raw_body is not None:
                raw = behaviour.raw_body
            else:
                raw = json.dumps(behaviour.json_body).encode()
            return _Reply(behaviour.status, raw, behaviour.headers)

        return _error_reply(behaviour, model, bearer)

    def _completion(self, request_body: Any, subject: str, text: str) -> _Reply:
        content = json.dumps({"subject": subject, "body": text})
        return self._completion_reply(request_body, content, "stop")

    def _completion_reply(
        self,
        request_body: Any,
        content: str | None,
        finish_reason: str,
        *,
        refusal: str | None = None,
    ) -> _Reply:
        model = request_body.get("model") if isinstance(request_body, dict) else None
        prompt_chars = sum(len(text) for text in _message_texts(request_body))
        completion_chars = len(content or refusal or "")
        payload = {
            "id": self._next_completion_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model or MODELS[0],
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": refusal,
                    },
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_chars // 4 + 1,
                "completion_tokens": completion_chars // 4 + 1,
                "total_tokens": (prompt_chars + completion_chars) // 4 + 2,
            },
        }
        return _Reply(200, json.dumps(payload).encode())


def _error_reply(behaviour: Behaviour, model: str, bearer: str) -> _Reply:
    kind = behaviour.kind
    headers: tuple[tuple[str, str], ...] = ()
    param: str | None = None
    code: str | None
    if kind == "rate_limited":
        message = "Rate limit reached for requests per minute. Please try again later."
        error_type, code = "requests", "rate_limit_exceeded"
        if behaviour.retry_after is not None:
            headers = (("Retry-After", _format_seconds(behaviour.retry_after)),)
    elif kind == "quota":
        message = (
            "You exceeded your current quota, please check your plan and billing "
            "details."
        )
        error_type, code = "insufficient_quota", "insufficient_quota"
    elif kind == "invalid_key":
        message = f"Incorrect API key provided: {bearer}."
        error_type, code = "invalid_request_error", "invalid_api_key"
    elif kind == "model_not_found":
        message = f"The model `{model}` does not exist or you do not have access to it."
        error_type, code = "invalid_request_error", "model_not_found"
    elif kind == "bad_request":
        message = behaviour.message or "Invalid request."
        error_type, code = "invalid_request_error", behaviour.code
        param = behaviour.param
    elif kind == "server_error":
        message = "The server had an error while processing your request."
        error_type, code = "server_error", None
    else:
        raise ValueError(f"unknown behaviour kind {kind!r}")
    return _Reply(
        behaviour.status, _error_body(message, error_type, code, param), headers
    )


def _error_body(
    message: str, error_type: str, code: str | None, param: str | None = None
) -> bytes:
    error = {"message": message, "type": error_type, "param": param, "code": code}
    return json.dumps({"error": error}).encode()


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _message_texts(body: Any) -> Iterator[str]:
    if not isinstance(body, dict):
        return
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            yield content
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    yield part["text"]


def find_donor_record(body: Any) -> dict[str, Any] | None:
    """Find the first JSON object with a "display_name" key in the messages.

    The search decodes from every "{" in turn, so it does not depend on how the
    prompt fences its data.
    """
    decoder = json.JSONDecoder()
    for text in _message_texts(body):
        start = text.find("{")
        while start != -1:
            try:
                value, _ = decoder.raw_decode(text, start)
            except ValueError:
                value = None
            if isinstance(value, dict) and "display_name" in value:
                return value
            start = text.find("{", start + 1)
    return None


def _draft_for(body: Any) -> tuple[str, str]:
    record = find_donor_record(body) or {}
    name = str(record.get("display_name") or "Friend")
    subject = f"Thank you, {name}"[:SUBJECT_MAX_LENGTH]
    last_gift = record.get("last_gift")
    if isinstance(last_gift, dict) and last_gift.get("amount"):
        thanks = (
            f"Thank you for your gift of {last_gift['amount']} "
            f"on {last_gift.get('date', 'your last visit')}. "
            "It made a real difference this year."
        )
    else:
        thanks = "Thank you for your interest in our work."
    text = f"Dear {name},\n\n{thanks}\n\nWith gratitude,\nThe development team"
    return subject, text


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes. With Nagle's algorithm on, the
    # body waits for the client's delayed ACK, about 40 ms on Linux.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0].rstrip("/")
        owner._record(self._recorded(None, "models"))
        if path == "/v1/models":
            data = [
                {"id": model, "object": "model", "created": 0, "owned_by": "fakeapi"}
                for model in MODELS
            ]
            payload = json.dumps({"object": "list", "data": data}).encode()
            self._send(_Reply(200, payload))
            return
        self._send_not_found(path)

    def do_POST(self) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0].rstrip("/")
        raw = self._read_body()
        if raw is None:
            return

        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None

        if path != "/v1/chat/completions":
            owner._record(self._recorded(body, "not_found"))
            self._send_not_found(path)
            return

        if not isinstance(body, dict):
            owner._record(self._recorded(body, "invalid_json"))
            reply = _Reply(
                400,
                _error_body(
                    "We could not parse the JSON body of your request.",
                    "invalid_request_error",
                    None,
                ),
            )
            self._send(reply)
            return

        behaviour = owner._choose(body)
        owner._record(self._recorded(body, behaviour.kind))
        if behaviour.kind == "hang":
            owner._wait_until_released()
            self.close_connection = True
            return

        if not owner._wait_latency():
            self.close_connection = True
            return

        bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
        self._send(owner._reply_for(behaviour, body, bearer))

    def _recorded(self, body: Any, behaviour: str) -> RecordedRequest:
        return RecordedRequest(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            time=time.monotonic(),
            behaviour=behaviour,
        )

    def _read_body(self) -> bytes | None:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return self._read_chunked()
            return b""
        try:
            length = int(length_header)
        except ValueError:
            self._send(
                _Reply(
                    400,
                    _error_body(
                        "Invalid Content-Length.", "invalid_request_error", None
                    ),
                )
            )
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send_not_found(self, path: str) -> None:
        message = f"Invalid URL ({self.command} {path})"
        self._send(_Reply(404, _error_body(message, "invalid_request_error", None)))

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        names = {name.lower() for name, _ in reply.headers}
        if "content-type" not in names:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakeapi",
        description="Serve a fake OpenAI chat-completions API on 127.0.0.1.",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port; 0 picks a free one (default 0)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds before each reply"
    )
    parser.add_argument(
        "--rate-429",
        type=float,
        default=0.0,
        help="share of requests answered 429 (0-1)",
    )
    parser.add_argument(
        "--rate-500",
        type=float,
        default=0.0,
        help="share of requests answered 500 (0-1)",
    )
    parser.add_argument(
        "--retry-after",
        type=float,
        default=1.0,
        help="Retry-After seconds sent with random 429 replies (default 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random errors")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        server = FakeChatServer(
            latency=args.latency,
            seed=args.seed,
            rate_429=args.rate_429,
            rate_500=args.rate_500,
            retry_after=args.retry_after,
        )
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        server.start(port=args.port)
    except OSError as exc:
        print(f"error: cannot listen on {HOST}:{args.port}: {exc.strerror}")
        return 1
    print(f"listening on {server.base_url}", flush=True)
    while not stop_requested.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
