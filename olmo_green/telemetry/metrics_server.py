"""The HTTP server behind `/metrics`: it can never block training.

wsgiref's server handles one connection at a time and waits for a request line without a
limit, so one idle TCP client (a port scanner, a half-open scrape) starved every scrape, and
`shutdown()`, which waits for the serving loop, hung `train` at close and on SIGTERM. Here each
connection is served on its own daemon thread with a socket timeout, and close is bounded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

REQUEST_TIMEOUT_S = 5.0  # a client that sends no request within this is dropped
CLOSE_TIMEOUT_S = 5.0  # close() never waits longer than about this


class _Handler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT_S  # StreamRequestHandler.setup() applies it to the connection

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:  # timed out, or the client went away: nothing to answer
            pass

    def log_message(self, format: str, *args) -> None:  # a scrape every 15 s is no news for stderr
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a stuck connection never keeps the process alive
    block_on_close = False  # server_close() does not wait for connection threads


class MetricsServer:
    """Serve a WSGI app on host:port from a background thread. OSError if it cannot bind."""

    def __init__(self, host: str, port: int, app: Callable) -> None:
        self.server = make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_Handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="olmo-green-metrics", daemon=True)
        self.thread.start()

    @property
    def server_address(self) -> tuple:
        return self.server.server_address

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Stop serving; returns within about timeout_s whatever the clients do."""
        stopper = threading.Thread(target=self.server.shutdown, name="olmo-green-metrics-stop", daemon=True)
        stopper.start()  # shutdown() waits for the loop without a limit: wait for it with one
        stopper.join(timeout_s)
        try:
            self.server.server_close()
        except OSError:
            pass
        self.thread.join(timeout_s)
