"""A fake Telegram Bot API server: a real HTTP server on a loopback port speaking the Bot API
(`/bot<token>/<method>`, form, multipart or JSON bodies, `{"ok": ..., "result": ...}` answers),
since Telegram cannot be reached from here.

It implements what aiogram calls for a bot: getMe, getUpdates (offset, limit and long-poll
timeout), sendMessage, sendDocument (multipart upload), editMessageText,
editMessageReplyMarkup, deleteMessage, answerCallbackQuery, setWebhook, deleteWebhook,
getWebhookInfo, setMyCommands, deleteMyCommands, getMyCommands, sendChatAction, close and logOut.

Tests inject updates (`send_text`: a user writes in a chat; `press`: a user presses a button of
a message the bot sent), read what the bot sent (`messages`, `wait_for_messages`), and make the
API fail: `fail_next` (any status, 429 with retry_after), `outage` (every call 503),
`unreachable` (the port refuses connections) and `flood_limit` (429 past N messages per chat
per period, as Telegram's own limits do).

    with running_fake_telegram() as telegram:
        bot = Bot(telegram.token, session=AiohttpSession(api=telegram.api_server()))
"""

import email.parser
import email.policy
import itertools
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from .ports import LOOPBACK

TOKEN = "123456789:TEST-fake-token_for-pepeunit-tests"
BOT_ID = 123456789
BOT_USERNAME = "pepeunit_test_bot"
MAX_LONG_POLL_S = 50.0
_MESSAGE_METHODS = {"sendMessage", "sendDocument"}


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    mime_type: str | None = None


@dataclass
class SentMessage:
    """A message the bot sent (or its latest edit)."""

    chat_id: int
    message_id: int
    method: str
    """sendMessage or sendDocument."""
    text: str | None
    """The text, or a document's caption."""
    reply_markup: dict[str, Any] | None = None
    document: Document | None = None
    parse_mode: str | None = None
    edits: int = 0

    def buttons(self) -> list[dict[str, Any]]:
        """Every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def button(self, text: str) -> dict[str, Any]:
        for button in self.buttons():
            if button["text"] == text:
                return button
        raise AssertionError(f"no button {text!r} in {[b['text'] for b in self.buttons()]}")

    def as_telegram(self, bot_user: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "date": int(time.time()),
            "chat": {"id": self.chat_id, "type": "private"},
            "from": bot_user,
        }
        if self.edits:
            message["edit_date"] = int(time.time())
        if self.document is not None:
            message["document"] = {
                "file_id": f"doc-{self.chat_id}-{self.message_id}",
                "file_unique_id": f"u-{self.chat_id}-{self.message_id}",
                "file_name": self.document.filename,
                "file_size": len(self.document.content),
            }
            if self.text:
                message["caption"] = self.text
        else:
            message["text"] = self.text or ""
        if self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message


@dataclass(frozen=True)
class ApiCall:
    method: str
    params: dict[str, Any]
    status: int
    """What the server answered."""
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Failure:
    method: str | None
    status: int
    retry_after: int | None
    remaining: int


@dataclass
class _FloodLimit:
    messages: int
    per_seconds: float
    retry_after: int
    sent: dict[int, deque[float]] = field(default_factory=dict)


class FakeTelegram:
    """The server's state; every public method is thread-safe."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.host = LOOPBACK
        self.port = 0
        self.bot_user = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Pepeunit",
            "username": BOT_USERNAME,
        }
        self._lock = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callback_ids = itertools.count(1)
        self.calls: list[ApiCall] = []
        self.messages: list[SentMessage] = []
        """Every message the bot sent, in order; edits change them in place."""
        self.answered_callbacks: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        """The setWebhook parameters, while a webhook is set."""
        self.commands: list[Any] = []
        self._failures: list[_Failure] = []
        self._outage = False
        self._flood: _FloodLimit | None = None

    @property
    def url(self) -> str:
        """What aiogram's `TelegramAPIServer.from_base` takes (and PU_TELEGRAM_API_URL)."""
        return f"http://{self.host}:{self.port}"

    def api_server(self) -> Any:
        from aiogram.client.telegram import TelegramAPIServer

        return TelegramAPIServer.from_base(self.url)

    # --- what users do --------------------------------------------------------------------

    def _user(self, user_id: int, first_name: str) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name}

    def _next_message_id(self, chat_id: int) -> int:
        with self._lock:
            counter = self._message_ids.setdefault(chat_id, itertools.count(1))
            return next(counter)

    def text_update(
        self, chat_id: int, text: str, *, user_id: int | None = None, first_name: str = "Tester"
    ) -> dict[str, Any]:
        """An Update of a user writing `text` in a private chat (not queued)."""
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": first_name},
            "from": self._user(user_id or chat_id, first_name),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        with self._lock:
            return {"update_id": next(self._update_ids), "message": message}

    def callback_update(
        self, message: SentMessage, data: str, *, user_id: int | None = None
    ) -> dict[str, Any]:
        """An Update of a user pressing a button (`data`) of a message the bot sent."""
        with self._lock:
            callback_id = str(next(self._callback_ids))
            update_id = next(self._update_ids)
        return {
            "update_id": update_id,
            "callback_query": {
                "id": callback_id,
                "from": self._user(user_id or message.chat_id, "Tester"),
                "chat_instance": f"instance-{message.chat_id}",
                "message": message.as_telegram(self.bot_user),
                "data": data,
            },
        }

    def queue(self, update: dict[str, Any]) -> dict[str, Any]:
        """Makes `update` the next one getUpdates returns."""
        with self._lock:
            self._updates.append(update)
            self._lock.notify_all()
        return update

    def send_text(self, chat_id: int, text: str, **options: Any) -> dict[str, Any]:
        return self.queue(self.text_update(chat_id, text, **options))

    def press(
        self, message: SentMessage, button_text: str, *, user_id: int | None = None
    ) -> dict[str, Any]:
        data = message.button(button_text)["callback_data"]
        return self.queue(self.callback_update(message, data, user_id=user_id))

    def press_data(self, message: SentMessage, data: str, **options: Any) -> dict[str, Any]:
        """A press with any callback data, as a forged client could send."""
        return self.queue(self.callback_update(message, data, **options))

    # --- what the bot did -----------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        with self._lock:
            return [message for message in self.messages if message.chat_id == chat_id]

    def wait_for_messages(
        self, chat_id: int, count: int, *, after: int = 0, timeout_s: float = 10.0
    ) -> list[SentMessage]:
        """The chat's messages from index `after` on, once there are `count` of them."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while True:
                found = [m for m in self.messages if m.chat_id == chat_id][after:]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    texts = [(m.method, m.text) for m in found]
                    raise AssertionError(f"chat {chat_id}: {count} message(s) expected: {texts}")
                self._lock.wait(remaining)

    def wait_for(self, condition: Any, *, timeout_s: float = 10.0) -> None:
        """Until `condition()` (called under the lock) is true."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("the fake Telegram did not see it in time")
                self._lock.wait(remaining)

    def calls_of(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    # --- failures -------------------------------------------------------------------------

    def fail_next(
        self,
        method: str | None = None,
        *,
        status: int = 503,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` (any method: None) answer `status`; 429 comes
        with `retry_after` seconds, as Telegram's flood control does."""
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._failures.append(_Failure(method, status, retry_after, times))

    @contextmanager
    def outage(self) -> Iterator[None]:
        """Every call answers 503 inside the block."""
        with self._lock:
            self._outage = True
        try:
            yield
        finally:
            with self._lock:
                self._outage = False

    def flood_limit(self, messages: int, per_seconds: float, retry_after: int = 1) -> None:
        """Past `messages` sent messages to one chat within `per_seconds`, answer 429."""
        with self._lock:
            self._flood = _FloodLimit(messages, per_seconds, retry_after)

    def reset(self) -> None:
        """Forget messages, calls, updates, failures and the webhook."""
        with self._lock:
            self._updates.clear()
            self.calls.clear()
            self.messages.clear()
            self.answered_callbacks.clear()
            self._failures.clear()
            self._outage = False
            self._flood = None
            self.webhook = None

    # --- the API --------------------------------------------------------------------------

    def _failure_for(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(status, error body), or (200, {}) when the call goes through. Under the lock."""
        if self._outage:
            return 503, _error(503, "Service Unavailable")
        for failure in self._failures:
            if failure.method in (None, method) and failure.remaining > 0:
                failure.remaining -= 1
                self._failures = [item for item in self._failures if item.remaining > 0]
                return failure.status, _error(failure.status, "Injected failure", failure)
        if self._flood is not None and method in _MESSAGE_METHODS:
            flood = self._flood
            chat_id = _int(params.get("chat_id"))
            window = flood.sent.setdefault(chat_id, deque())
            now = time.monotonic()
            while window and now - window[0] >= flood.per_seconds:
                window.popleft()
            if len(window) >= flood.messages:
                failure = _Failure(method, 429, flood.retry_after, 0)
                return 429, _error(429, "Too Many Requests", failure)
            window.append(now)
        return 200, {}

    def handle(self, method: str, params: dict[str, Any], files: dict[str, Document]) -> Any:
        """(status, body) for one API call."""
        with self._lock:
            status, error = self._failure_for(method, params)
            if status != 200:
                self.calls.append(ApiCall(method, params, status))
                self._lock.notify_all()
                return status, error
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            answer = (404, _error(404, "Not Found: method not found"))
        else:
            answer = handler(params, files)
        with self._lock:
            self.calls.append(ApiCall(method, params, answer[0]))
            self._lock.notify_all()
        return answer

    def _api_getme(self, _params: dict[str, Any], _files: dict[str, Document]) -> Any:
        return 200, _ok(self.bot_user)

    def _api_getupdates(self, params: dict[str, Any], _files: dict[str, Document]) -> Any:
        with self._lock:
            if self.webhook is not None:
                description = "Conflict: can't use getUpdates method while webhook is active"
                return 409, _error(409, description)
        offset = _int(params.get("offset", 0))
        limit = min(max(_int(params.get("limit", 100)), 1), 100)
        timeout = min(float(params.get("timeout", 0) or 0), MAX_LONG_POLL_S)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                # Updates below the offset are confirmed: Telegram forgets them.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or self._outage:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            if self._outage:
                return 503, _error(503, "Service Unavailable")
            return 200, _ok(self._updates[:limit])

    def _record(self, message: SentMessage) -> SentMessage:
        with self._lock:
            self.messages.append(message)
            self._lock.notify_all()
        return message

    def _api_sendmessage(self, params: dict[str, Any], _files: dict[str, Document]) -> Any:
        chat_id = _int(params.get("chat_id"))
        if not chat_id:
            return 400, _error(400, "Bad Request: chat not found")
        if not params.get("text"):
            return 400, _error(400, "Bad Request: message text is empty")
        message = self._record(
            SentMessage(
                chat_id,
                self._next_message_id(chat_id),
                "sendMessage",
                params["text"],
                params.get("reply_markup"),
                parse_mode=params.get("parse_mode"),
            )
        )
        return 200, _ok(message.as_telegram(self.bot_user))

    def _api_senddocument(self, params: dict[str, Any], files: dict[str, Document]) -> Any:
        chat_id = _int(params.get("chat_id"))
        if not chat_id:
            return 400, _error(400, "Bad Request: chat not found")
        reference = str(params.get("document", ""))
        if not reference.startswith("attach://") or reference[9:] not in files:
            return 400, _error(400, "Bad Request: there is no document in the request")
        message = self._record(
            SentMessage(
                chat_id,
                self._next_message_id(chat_id),
                "sendDocument",
                params.get("caption"),
                params.get("reply_markup"),
                document=files[reference[9:]],
                parse_mode=params.get("parse_mode"),
            )
        )
        return 200, _ok(message.as_telegram(self.bot_user))

    def _find(self, params: dict[str, Any]) -> SentMessage | None:
        chat_id, message_id = _int(params.get("chat_id")), _int(params.get("message_id"))
        with self._lock:
            for message in self.messages:
                if (message.chat_id, message.message_id) == (chat_id, message_id):
                    return message
        return None

    def _api_editmessagetext(self, params: dict[str, Any], _files: dict[str, Document]) -> Any:
        message = self._find(params)
        if message is None:
            return 400, _error(400, "Bad Request: message to edit not found")
        if message.text == params.get("text") and message.reply_markup == params.get(
            "reply_markup"
        ):
            return 400, _error(400, "Bad Request: message is not modified")
        with self._lock:
            message.text = params.get("text")
            message.reply_markup = params.get("reply_markup")
            message.parse_mode = params.get("parse_mode")
            message.edits += 1
            self._lock.notify_all()
        return 200, _ok(message.as_telegram(self.bot_user))

    def _api_editmessagereplymarkup(
        self, params: dict[str, Any], _files: dict[str, Document]
    ) -> Any:
        message = self._find(params)
        if message is None:
            return 400, _error(400, "Bad Request: message to edit not found")
        with self._lock:
            message.reply_markup = params.get("reply_markup")
            message.edits += 1
        return 200, _ok(message.as_telegram(self.bot_user))

    def _api_deletemessage(self, params: dict[str, Any], _files: dict[str, Document]) -> Any:
        message = self._find(params)
        if message is None:
            return 400, _error(400, "Bad Request: message to delete not found")
        with self._lock:
            self.messages.remove(message)
        return 200, _ok(True)

    def _api_answercallbackquery(self, params: dict[str, Any], _files: dict[str, Document]) -> Any:
        with self._lock:
            self.answered_callbacks.append(params)
            self._lock.notify_all()
        return 200, _ok(True)

    def _api_setwebhook(self, params: dict[str, Any], _files: dict[str, Document]) -> Any:
        url = str(params.get("url", ""))
        with self._lock:
            self.webhook = dict(params) if url else None
        return 200, _ok(True)

    def _api_deletewebhook(self, params: dict[str, Any], _files: dict[str, Document]) -> Any:
        with self._lock:
            self.webhook = None
            if _flag(params.get("drop_pending_updates")):
                self._updates.clear()
        return 200, _ok(True)

    def _api_getwebhookinfo(self, _params: dict[str, Any], _files: dict[str, Document]) -> Any:
        with self._lock:
            webhook = self.webhook or {}
            pending = len(self._updates)
        info = {
            "url": webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }
        if "allowed_updates" in webhook:
            info["allowed_updates"] = webhook["allowed_updates"]
        return 200, _ok(info)

    def _api_setmycommands(self, params: dict[str, Any], _files: dict[str, Document]) -> Any:
        with self._lock:
            self.commands = list(params.get("commands") or [])
        return 200, _ok(True)

    def _api_deletemycommands(self, _params: dict[str, Any], _files: dict[str, Document]) -> Any:
        with self._lock:
            self.commands = []
        return 200, _ok(True)

    def _api_getmycommands(self, _params: dict[str, Any], _files: dict[str, Document]) -> Any:
        with self._lock:
            return 200, _ok(list(self.commands))

    def _api_sendchataction(self, _params: dict[str, Any], _files: dict[str, Document]) -> Any:
        return 200, _ok(True)

    def _api_close(self, _params: dict[str, Any], _files: dict[str, Document]) -> Any:
        return 200, _ok(True)

    def _api_logout(self, _params: dict[str, Any], _files: dict[str, Document]) -> Any:
        return 200, _ok(True)

    def wake_pollers(self) -> None:
        with self._lock:
            self._lock.notify_all()


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _error(status: int, description: str, failure: _Failure | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if failure is not None and failure.retry_after is not None:
        body["description"] = f"Too Many Requests: retry after {failure.retry_after}"
        body["parameters"] = {"retry_after": failure.retry_after}
    return body


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _flag(value: Any) -> bool:
    return value in (True, "true", "True", "1", 1)


def _field_value(value: str) -> Any:
    """Form fields carry JSON for objects and lists (reply_markup, allowed_updates...)."""
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def parse_body(
    content_type: str, body: bytes, query: str
) -> tuple[dict[str, Any], dict[str, Document]]:
    """The parameters and uploaded files of a Bot API request, however it was encoded."""
    params: dict[str, Any] = {key: _field_value(value) for key, value in parse_qsl(query)}
    files: dict[str, Document] = {}
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" and body:
        params.update(json.loads(body))
    elif kind == "application/x-www-form-urlencoded":
        text = body.decode()
        params.update({key: _field_value(value) for key, value in parse_qsl(text)})
    elif kind == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            filename = part.get_filename()
            payload = part.get_payload(decode=True) or b""
            if filename is not None:
                files[str(name)] = Document(filename, payload, part.get_content_type())
            else:
                params[str(name)] = _field_value(payload.decode())
    return params, files


class _Handler(BaseHTTPRequestHandler):
    telegram: "RunningFakeTelegram"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.telegram.connections.add(self.connection)

    def finish(self) -> None:
        self.telegram.connections.discard(self.connection)
        super().finish()

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (long poll)
            self.close_connection = True

    def _read_body(self) -> bytes:
        """With Content-Length, or chunked (aiohttp streams multipart uploads so)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after the chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        body = self._read_body()
        if len(segments) != 2 or not segments[0].startswith("bot"):
            self._answer(404, _error(404, "Not Found"))
            return
        token, method = segments[0][3:], segments[1]
        if token != self.telegram.token:
            self._answer(401, _error(401, "Unauthorized"))
            return
        try:
            params, files = parse_body(self.headers.get("Content-Type", ""), body, parts.query)
        except ValueError:
            self._answer(400, _error(400, "Bad Request: can't parse request"))
            return
        status, answer = self.telegram.handle(method, params, files)
        self._answer(status, answer)

    do_GET = _serve  # noqa: N815
    do_POST = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class RunningFakeTelegram(FakeTelegram):
    """A FakeTelegram with its HTTP server; `unreachable()` closes the port for a while."""

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__(token)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.connections: set[socket.socket] = set()
        """Open client connections (kept alive by HTTP/1.1), cut by `stop()`."""

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"telegram": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-telegram", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        for connection in list(self.connections):
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.wake_pollers()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @contextmanager
    def unreachable(self) -> Iterator[None]:
        """Connections to the port are refused inside the block; the same port serves
        again after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()


@contextmanager
def running_fake_telegram(token: str = TOKEN) -> Iterator[RunningFakeTelegram]:
    telegram = RunningFakeTelegram(token)
    telegram.start()
    try:
        yield telegram
    finally:
        telegram.stop()


@pytest.fixture
def fake_telegram() -> Iterator[RunningFakeTelegram]:
    """A fake Bot API server for one test."""
    with running_fake_telegram() as telegram:
        yield telegram
