"""A small thread-safe cache whose entries expire.

The index changes while the server runs (processing results are registered as new datasets), so
what the tiler learns from it may only be kept for a few seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

__all__ = ["TtlCache"]


class TtlCache[K: Hashable, V]:
    """``get(key)`` returns ``compute(key)``, computed at most once per key every ``ttl`` seconds.

    Concurrent misses on one key wait for a single computation; other keys are not blocked.
    Errors are not cached."""

    def __init__(self, compute: Callable[[K], V], *, ttl: float, max_entries: int = 256) -> None:
        self._compute = compute
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._key_locks: dict[K, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V:
        hit = self._fresh(key)
        if hit is not None:
            return hit[1]
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            hit = self._fresh(key)
            if hit is not None:
                return hit[1]
            value = self._compute(key)
            with self._lock:
                self._evict(time.monotonic())
                self._entries[key] = (time.monotonic() + self._ttl, value)
            return value

    def _fresh(self, key: K) -> tuple[float, V] | None:
        with self._lock:
            entry = self._entries.get(key)
        return entry if entry is not None and entry[0] > time.monotonic() else None

    def _evict(self, now: float) -> None:
        """Drop expired entries, then the oldest ones beyond ``max_entries``; caller holds the lock."""
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
            self._key_locks.pop(key, None)
        while len(self._entries) >= self._max_entries:
            key = min(self._entries, key=lambda k: self._entries[k][0])
            del self._entries[key]
            self._key_locks.pop(key, None)
