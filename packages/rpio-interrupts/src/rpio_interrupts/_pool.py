"""A small bounded worker pool that keeps the order of tasks per key.

Tasks submitted under one key (a pin, a TCP client) run one after another, in submission order;
tasks under different keys run in parallel on at most ``max_workers`` threads. Workers are
started on demand and end when the pool is shut down, so an idle loop owns no worker threads
once stopped.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from ._threads import start_signal_free

__all__ = ["SerialPool", "current_owner"]

log = logging.getLogger("RPIO.interrupts")

_local = threading.local()


def current_owner() -> Any:
    """The ``owner`` of the pool whose worker is the calling thread (None outside any pool)."""
    return getattr(_local, "owner", None)


class SerialPool:
    """Bounded thread pool with per-key FIFO ordering."""

    def __init__(self, max_workers: int = 4, *, max_pending: int = 65536, name: str = "RPIO-callback",
                 owner: Any = None):
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, not {max_workers!r}")
        self._max_workers = max_workers
        self._max_pending = max_pending
        self._name = name
        self._cond = threading.Condition(threading.Lock())
        self._queues: dict[Hashable, deque] = {}
        self._ready: deque = deque()          # keys with work and no worker on them
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._pending = 0
        self._gen = 0                          # bumped by shutdown(); old workers then drain and end
        self._overflowing = False
        self._owner = owner
        self.dropped = 0

    # -- submitting ---------------------------------------------------------------------------
    def submit(self, key: Hashable, fn: Callable[..., Any], args: tuple = ()) -> bool:
        """Queue ``fn(*args)`` behind earlier tasks of ``key``. Returns False if it was dropped."""
        with self._cond:
            if self._pending >= self._max_pending:
                self.dropped += 1
                if not self._overflowing:
                    self._overflowing = True
                    log.warning("threaded callbacks: %s tasks already queued; dropping new ones "
                                "until the backlog drains", self._pending)
                return False
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
                self._ready.append(key)
            queue.append((fn, args))
            self._pending += 1
            if self._idle:
                self._cond.notify()
            elif len(self._threads) < self._max_workers:
                self._start_worker()
        return True

    def in_worker(self) -> bool:
        """True when called from one of this pool's worker threads."""
        return getattr(_local, "pool", None) is self

    @property
    def thread_count(self) -> int:
        with self._cond:
            return len(self._threads)

    # -- workers ------------------------------------------------------------------------------
    def _start_worker(self) -> None:
        t = threading.Thread(target=self._work, args=(self._gen,),
                             name=f"{self._name}-{len(self._threads) + 1}", daemon=False)
        self._threads.append(t)
        start_signal_free(t)

    def _work(self, gen: int) -> None:
        _local.pool = self
        _local.owner = self._owner
        cond = self._cond
        while True:
            with cond:
                while not self._ready and gen == self._gen:
                    self._idle += 1
                    cond.wait()
                    self._idle -= 1
                if not self._ready:          # shut down and nothing left to run
                    return
                key = self._ready.popleft()
                fn, args = self._queues[key].popleft()
            try:
                fn(*args)
            except BaseException:
                log.exception("threaded callback %r raised", fn)
            with cond:
                self._pending -= 1
                if self._overflowing and self._pending < self._max_pending // 2:
                    self._overflowing = False
                queue = self._queues[key]
                if queue:
                    self._ready.append(key)      # round robin between keys, order kept within one
                else:
                    del self._queues[key]

    # -- shutting down ------------------------------------------------------------------------
    def shutdown(self, wait: bool = True) -> None:
        """Run what is queued, then end the workers (joined when ``wait``; never the caller)."""
        with self._cond:
            self._gen += 1
            threads, self._threads = self._threads, []
            self._cond.notify_all()
        if wait:
            me = threading.current_thread()
            for t in threads:
                if t is not me:
                    t.join()
