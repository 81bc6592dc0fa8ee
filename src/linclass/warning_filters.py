"""Changing the warning filters for a while, beside another thread that changes them too.

``warnings.catch_warnings`` saves the list of filters when it starts and puts that list back when it
ends. Two threads that do this at the same time can each put back a list that holds the other's
filter, so a filter meant for a moment stays for the rest of the run: an ``ignore UserWarning`` of
one reader could hide every later warning. (Python 3.14's context-aware filters end this; before
them the list is one global.) So every place in linclass that changes the filters in a thread other
than the main one, or while such a thread may run, does it inside :func:`caught_warnings`, which holds
:data:`FILTERS_LOCK` for the time.
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from typing import Iterator

FILTERS_LOCK = threading.RLock()
"""Held by whoever has the warning filters changed for a while (re-entrant: a holder may nest)."""


@contextmanager
def caught_warnings() -> Iterator[None]:
    """``warnings.catch_warnings()`` while holding :data:`FILTERS_LOCK`."""
    with FILTERS_LOCK, warnings.catch_warnings():
        yield
