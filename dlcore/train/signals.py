"""Stopping on SIGINT/SIGTERM between two steps instead of wherever the signal lands."""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred_stop() -> Iterator[Callable[[], int | None]]:
    """Within the block, SIGINT and SIGTERM only set a flag; yields ``received()``, the signal
    number received (or None), for the loop to poll. A second signal raises KeyboardInterrupt
    at once, for a user who does not want to wait for the step to finish.

    Outside the main thread (where Python cannot install handlers) signals are left alone.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return

    def handler(signum, frame):
        if received:
            raise KeyboardInterrupt
        received.append(signum)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield lambda: received[0] if received else None
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)
