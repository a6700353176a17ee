"""The lifecycle every fake server shares: serve on 127.0.0.1 and a free port, in a daemon thread.

A subclass names its ``socketserver`` class, its handler, and the attribute through which the
handler reaches the fake (``self.server.<owner_attr>``); ``start`` is idempotent, so
``with Fake().start() as fake`` starts one server.
"""

from __future__ import annotations

import socketserver
import threading
from typing import Any, ClassVar, Self


class LoopbackServer:
    server_class: ClassVar[type[socketserver.BaseServer]]
    handler_class: ClassVar[type[socketserver.BaseRequestHandler]]
    owner_attr: ClassVar[str]
    thread_name: ClassVar[str] = "fake-server"

    _server: Any = None
    _thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_address[1])

    def start(self) -> Self:
        if self._server is None:
            self._server = self.server_class(("127.0.0.1", 0), self.handler_class)
            setattr(self._server, self.owner_attr, self)
            self._thread = threading.Thread(target=self._server.serve_forever, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
