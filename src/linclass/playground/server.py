"""Run the playground app with uvicorn on the loopback interface, blocking or in a background thread."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import webbrowser
from typing import Callable, Iterator

import uvicorn

from linclass.playground.app import create_app

LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT = 10.0


def bind_loopback(port: int) -> socket.socket:
    """A listening-ready socket on 127.0.0.1:``port`` (0 picks a free port).

    Raises
    ------
    OSError
        When the port is taken or not allowed; the message says which and what to do.
    """
    # Naming the protocol lets asyncio set TCP_NODELAY on each connection; without it, Nagle's algorithm
    # and delayed ACKs add 40 ms to every answer on a kept-alive connection.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if os.name == "posix":  # restarting right after Ctrl-C must not wait for the old connections to expire
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as error:
        sock.close()
        raise OSError(error.errno, f"cannot listen on {LOOPBACK}:{port} ({error.strerror}); "
                                   "choose another --port, or --port 0 for any free port") from None
    return sock


def url_of(sock: socket.socket) -> str:
    """The page's address for a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}/"


def _server(sock: socket.socket) -> uvicorn.Server:
    config = uvicorn.Config(create_app(), log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)


def serve(sock: socket.socket, open_browser: bool = True, announce: Callable[[str], None] = print) -> None:
    """Serve the playground on ``sock`` until interrupted, announcing its URL and opening it in a browser."""
    server = _server(sock)
    url = url_of(sock)

    def when_started() -> None:
        if _wait_started(server):
            announce(f"linclass playground running at {url}  (Ctrl-C to stop)")
            if open_browser:
                webbrowser.open(url)

    threading.Thread(target=when_started, daemon=True).start()
    server.run(sockets=[sock])


@contextlib.contextmanager
def background_server(port: int = 0) -> Iterator[str]:
    """Run the playground in a background thread for the duration of a ``with`` block; yields its URL.

    Used by the browser tests and the benchmark; ``port=0`` picks a free port.
    """
    sock = bind_loopback(port)
    server = _server(sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        if not _wait_started(server):
            raise RuntimeError(f"the playground server did not start within {STARTUP_TIMEOUT:g} s")
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
        sock.close()


def _wait_started(server: uvicorn.Server) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if time.monotonic() > deadline or server.should_exit:
            return False
        time.sleep(0.02)
    return True
