"""The review app on a real port of 127.0.0.1, in a thread, for tests (API and browser)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import tornado.httpserver
import tornado.netutil

from grader.course import Course
from grader.layout import OutLayout
from grader.review.app import make_app
from grader.review.items import Review

TOKEN = "test-token-0123456789"


@contextlib.contextmanager
def running(out: Path, course: Course, lang: str = "en") -> Iterator[str]:
    """Yields the base URL (`http://127.0.0.1:PORT`) while the app serves `out`."""
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    started = threading.Event()
    state: dict[str, Any] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        server = tornado.httpserver.HTTPServer(make_app(Review(OutLayout(out), course, lang), TOKEN))
        server.add_sockets(sockets)
        state["loop"], state["server"] = loop, server
        started.set()
        loop.run_forever()
        server.stop()
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    finally:
        state["loop"].call_soon_threadsafe(state["loop"].stop)
        thread.join(10)


def call(url: str, body: dict | None = None, token: str | None = TOKEN) -> tuple[int, Any]:
    """(status, parsed JSON or text) of a GET, or a POST when `body` is given."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"token {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, kind = response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        status, raw, kind = exc.code, exc.read(), exc.headers.get("Content-Type", "")
    text = raw.decode("utf-8")
    return status, json.loads(text) if "json" in kind else text
