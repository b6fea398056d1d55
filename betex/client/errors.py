"""Client-side failures. Rejects from the engine are values (`ErrorInfo` in replies), not these."""

from __future__ import annotations

from betex.core.errors import BetexError, Rejected, Unreachable


class ClientError(BetexError):
    """Base of every exception the client raises on purpose."""


class ServerUnreachable(ClientError, Unreachable):
    """The server could not be reached at all (the CLI maps this to exit status 5)."""


class AccessRefused(ClientError, Rejected):
    """The server refused the upgrade itself (401 a bad or revoked key or token, 403 an Origin):
    retrying cannot help, so `connect()` raises it at once (the CLI exits 6 with `code`)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message} (HTTP {status})")
        self.status = status
        self.code = code


class NotConnected(ClientError, ConnectionError):
    """A send while the connection is down (reconnecting or closed); nothing was sent."""


class ConnectionLost(ClientError, ConnectionError):
    """The connection dropped before a reply arrived; the command may or may not have applied."""


class RequestTimeout(ClientError, TimeoutError):
    """No reply within the request timeout."""


class HttpError(ClientError):
    """An HTTP endpoint answered with an error body `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
