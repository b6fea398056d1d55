"""A stop flag that a signal handler may set: no lock, so it cannot deadlock.

`threading.Event.set()` from a signal handler can deadlock: the handler runs in the main thread
between bytecodes, and if the main thread was inside `Event.wait()`'s locked section (entering
or leaving the wait), `set()` blocks forever on the same non-reentrant lock. It happened: a
history writer polling every millisecond with `Event.wait` ignored SIGTERM for 60 s until the
supervisor killed it. `StopFlag` is a plain attribute set by the handler, and `wait` sleeps in
short steps (`time.sleep` returns early on a signal and is simply resumed here).
"""

from __future__ import annotations

import time

STEP_S = 0.005


class StopFlag:
    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        """Safe in a signal handler."""
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until set or `timeout` seconds passed (None: until set); whether it is set."""
        if self._set:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._set:
            left = STEP_S if deadline is None else min(STEP_S, deadline - time.monotonic())
            if left <= 0:
                break
            time.sleep(left)
        return self._set
