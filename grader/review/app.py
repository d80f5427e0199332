"""`grade review OUT`: a local tornado app over grader/review/items.py, for this machine's browser only.

127.0.0.1, a free port, a random token (every request without it gets 403, as Jupyter does), and nothing
served but the page and the JSON API below; no file of OUT is served by path.

    GET  /?token=T                       the review page
    GET  /api/queue                      items needing a person (and written answers already scored)
    GET  /api/item/<student>/<check>     one item in full, with `version` (its etag)
    GET  /api/pair/<exercise>/<a>/<b>    one near-copy pair: both students, similarity, shared passages, decision
    POST /api/scores                     {student, check, points, comment[, version]} -> the item saved;
                                         400 refused (the reason in `error`), 409 saved meanwhile by
                                         someone else (`current` holds their score), 503 a grade run holds OUT
    POST /api/pairs                      {exercise, first, second, decision, comment[, version]}: a person's
                                         "noted" / "dismissed" on a near-copy pair (never a score)
    GET  /static/katex/...               the vendored KaTeX (grader/review/static/katex/)
Token: `Authorization: token T` or `?token=T`. The page's own stylesheet, scripts and fonts cannot send a
header, so a valid `/?token=T` visit also sets an HttpOnly, SameSite=Strict cookie holding the token, scoped
to /static/ (as Jupyter's login cookie, but accepted by the static files only: the API still needs the token).
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import secrets
import sys
import webbrowser
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

from ..course import Course
from ..layout import OutLayout
from ..manual import ScoreRefused
from ..scorestore import OutBusy, ScoreConflict
from .items import Review
from .pairs import decide, pair_item
from .page import render_page


STATIC = Path(__file__).parent / "static"


def cookie_name(token: str) -> str:
    """The static files' cookie: named after the token, so two reviews on one machine (ports) never clash."""
    return "grade_review_" + hashlib.sha256(token.encode()).hexdigest()[:12]


def _token_given(handler: tornado.web.RequestHandler, token: str, cookie: bool = False) -> bool:
    given = handler.get_query_argument("token", "")
    header = handler.request.headers.get("Authorization", "")
    if header.lower().startswith("token "):
        given = header[6:].strip()
    if not given and cookie:
        given = handler.get_cookie(cookie_name(token), "")
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


class _Handler(tornado.web.RequestHandler):
    """Every handler: the token first, JSON errors, no caching."""

    def initialize(self, review: Review, token: str) -> None:
        self.review, self.token = review, token

    def prepare(self) -> None:
        if not _token_given(self, self.token):
            self.send_error(403)
            return
        self.set_header("Cache-Control", "no-store")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": "forbidden: a token is needed" if status_code == 403 else self._reason}))

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(data, ensure_ascii=False))

    def posted(self, required: tuple[str, ...], described: str) -> dict[str, Any] | None:
        """The request's JSON body, its `required` keys as strings; None (400 sent) when it is not that, or when
        its `version` is there but not an integer."""
        try:
            body = json.loads(self.request.body or b"{}")
            for key in required:
                body[key] = str(body[key])
        except (ValueError, KeyError, TypeError):
            self.reply({"error": f"the body must be JSON with {described}"}, 400)
            return None
        version = body.get("version")
        if version is not None and not isinstance(version, int):
            self.reply({"error": "version must be an integer"}, 400)
            return None
        return body

    def guarded(self, call: Callable[[], Any]) -> None:
        try:
            self.reply(call())
        except ScoreConflict as exc:
            current = exc.current
            self.reply({"error": str(exc), "current": None if current is None else {
                "points": current.points, "comment": current.comment, "who": current.who, "when": current.when,
                "version": current.version}}, 409)
        except OutBusy as exc:
            self.reply({"error": str(exc)}, 503)
        except ScoreRefused as exc:
            self.reply({"error": str(exc)}, 400)


class StaticHandler(tornado.web.StaticFileHandler):
    """grader/review/static/ (KaTeX), behind the token: the query, the header or the page's cookie."""

    def initialize(self, path: str, token: str) -> None:  # type: ignore[override]
        super().initialize(path)
        self.token = token

    def prepare(self) -> None:
        if not _token_given(self, self.token, cookie=True):
            self.send_error(403)


class PageHandler(_Handler):
    def get(self) -> None:
        nonce = secrets.token_urlsafe(16)
        # KaTeX: its scripts carry the nonce, its stylesheet and fonts come from 'self'; its inline style
        # attributes need 'unsafe-inline' for styles (the page's own <style> did already)
        self.set_header("Content-Security-Policy", f"default-src 'none'; script-src 'nonce-{nonce}'; "
                        "style-src 'self' 'unsafe-inline'; font-src 'self'; connect-src 'self'; img-src data:; "
                        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
        self.set_cookie(cookie_name(self.token), self.token, path="/static/", httponly=True, samesite="Strict")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(render_page(self.review.lang, nonce))


class QueueHandler(_Handler):
    def get(self) -> None:
        self.guarded(lambda: {"items": self.review.queue()})


class ItemHandler(_Handler):
    def get(self, student: str, check: str) -> None:
        self.guarded(lambda: self.review.item(unquote(student), unquote(check)))


class ScoresHandler(_Handler):
    def post(self) -> None:
        body = self.posted(("student", "check"), "student, check, points and comment")
        if body is not None:
            self.guarded(lambda: self.review.save(body["student"], body["check"], body.get("points"),
                                                  str(body.get("comment") or ""), body.get("version")))


class PairHandler(_Handler):
    def get(self, exercise: str, first: str, second: str) -> None:
        self.guarded(lambda: pair_item(self.review.layout, unquote(exercise), unquote(first), unquote(second)))


class PairsHandler(_Handler):
    def post(self) -> None:
        body = self.posted(("exercise", "first", "second"), "exercise, first, second, decision and comment")
        if body is not None:
            self.guarded(lambda: decide(self.review.layout, body["exercise"], body["first"], body["second"],
                                        body.get("decision"), str(body.get("comment") or ""), body.get("version"),
                                        self.review.who))


def make_app(review: Review, token: str) -> tornado.web.Application:
    """The review app (tests drive it through tornado.testing or a real port)."""
    args = {"review": review, "token": token}
    return tornado.web.Application([
        (r"/", PageHandler, args),
        (r"/api/queue", QueueHandler, args),
        (r"/api/item/([^/]+)/([^/]+)", ItemHandler, args),
        (r"/api/scores", ScoresHandler, args),
        (r"/api/pair/([^/]+)/([^/]+)/([^/]+)", PairHandler, args),
        (r"/api/pairs", PairsHandler, args),
        (r"/static/(.*)", StaticHandler, {"path": str(STATIC), "token": token}),
    ], default_handler_class=_Handler, default_handler_args=args, xsrf_cookies=False, compress_response=True)


def default_who() -> str:
    """The OS user's login name, what a score is by when `grade review --who` is not given."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return ""


def serve(out_dir: Path, course: Course, lang: str = "en", open_browser: bool = True, port: int = 0,
          on_url: Callable[[str], None] | None = None, who: str = "") -> None:
    """Serve the review of `out_dir` until interrupted; `on_url` gets the URL first (default: stdout); scores
    saved are by `who`."""
    token = secrets.token_urlsafe(24)
    review = Review(OutLayout(out_dir), course, lang, who)
    sockets = tornado.netutil.bind_sockets(port, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(make_app(review, token))
    server.add_sockets(sockets)
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/?token={token}"
    (on_url or (lambda line: (print(line), sys.stdout.flush())))(url)
    if open_browser:
        webbrowser.open(url)
    try:
        tornado.ioloop.IOLoop.current().start()
    finally:
        server.stop()
