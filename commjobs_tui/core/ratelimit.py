"""Shared request and token limits, backoff, and the pool-wide slow-down on 429s."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable


class TokenBucket:
    """Allows `rate_per_minute` units a minute with bursts up to one second's worth."""

    def __init__(
        self,
        rate_per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        burst_seconds: float = 1.0,
    ) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_seconds)
        self._tokens = self.capacity
        self._clock = clock
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(
            self.capacity, self._tokens + (now - self._stamp) * self.rate
        )
        self._stamp = now

    def delay_for(self, amount: float) -> float:
        """Take `amount` units and return how long to wait before using them."""
        self._refill()
        # A request larger than the bucket waits for the shortfall instead of forever.
        self._tokens -= amount
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.rate


class PoolLimiter:
    """One limiter shared by every task of a process.

    It bounds requests in flight and spaces requests and tokens per minute. After a
    rate-limit reply it pauses every task until the server's Retry-After has passed
    and halves the requests in flight, then adds one back per ten successes.
    """

    def __init__(
        self,
        *,
        concurrency: int,
        requests_per_minute: int,
        tokens_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_in_flight = concurrency
        self.limit = concurrency
        self.in_flight = 0
        self._requests = TokenBucket(requests_per_minute, clock=clock)
        self._tokens = TokenBucket(tokens_per_minute, clock=clock)
        self._clock = clock
        self._resume_at = 0.0
        self._successes = 0
        self._changed = asyncio.Condition()

    async def acquire(self, estimated_tokens: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        while True:
            hold = self._resume_at - self._clock()
            if hold <= 0:
                break
            await asyncio.sleep(hold)
        wait = max(
            self._requests.delay_for(1), self._tokens.delay_for(estimated_tokens)
        )
        if wait > 0:
            await asyncio.sleep(wait)

    async def release(self, *, success: bool) -> None:
        async with self._changed:
            self.in_flight -= 1
            if success and self.limit < self.max_in_flight:
                self._successes += 1
                if self._successes >= 10:
                    self._successes = 0
                    self.limit += 1
            self._changed.notify_all()

    def ensure_capacity(self, concurrency: int) -> None:
        """Raise the in-flight bound for a job configured with more concurrency."""
        if concurrency > self.max_in_flight:
            self.limit += concurrency - self.max_in_flight
            self.max_in_flight = concurrency

    def slow_down(self, retry_after: float | None) -> None:
        """Hold the whole pool after a 429 and halve the requests in flight."""
        hold = retry_after if retry_after is not None else 1.0
        self._resume_at = max(self._resume_at, self._clock() + hold)
        self.limit = max(1, self.limit // 2)
        self._successes = 0


def backoff_delay(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 30.0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (1-based).

    Exponential with jitter between half and the full step, never less than the
    server's Retry-After.
    """
    step: float = min(cap, base * 2.0 ** (attempt - 1))
    jittered: float = step * (0.5 + 0.5 * (rng or random).random())
    if retry_after is not None:
        return max(jittered, min(float(retry_after), 300.0))
    return jittered
