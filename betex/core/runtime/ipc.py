"""The engine's IPC channel: length-prefixed batches of msgpack-encoded commands and replies.

Gateways (one connection each) send batches of typed commands (`core/domain/commands.py`) to
the engine process over a Unix stream socket; the engine answers every command, in order, on
the same connection (a `Result` of `core/domain/results.py`, or None for a no_ack command).

Wire (all integers little-endian):

    frame    = u32 payload length, payload (msgpack)
    commands = [0, first_id, [[tag, want_reply, [fields...]], ...]]   gateway → engine
    replies  = [1, first_id, [reply or nil, ...]]                      engine → gateway
    events   = [2, last_seq, [[event tag, [fields...]], ...]]           engine → gateway
    hello    = [3, published_seq, {"keys": [[key_id, account, hash, revoked], ...]}]  engine → gateway
    metrics  = [4, {counters, rejects, gauges, info, stages}]           engine → gateway
    failed   = [5, message]                       engine → gateway, last (the fail-stop cause)

The engine publishes every committed event batch to every connection (`events`: the WAL codec's
event tags, but the whole batch packed in one call with no per-record CRC: the stream is a
local socket, and per-record packing cost the engine's ingress thread and the gateway a
msgpack call pair and a CRC per event each), and holds a batch's replies until the events they depend on have been
queued: on one stream, a gateway therefore always sees the events before the replies, and can
apply them to its read model before it releases a reply (read-your-writes across processes).
`hello` is the first frame of every connection: the seq of the last events frame the engine had
published before it, so a gateway knows that everything after it comes on the stream and
everything up to it is in the WAL (where it catches up from).

A command group (`loop.CommandGroup`: PLACE_ORDERS, CANCEL_ORDERS, REPLACE_ORDERS) is one entry
with tag 0 and `[[tag, [fields...]], ...]` as its fields: one id, one ring item, one engine batch;
its reply is `[5, [reply, ...]]`, the results in instruction order.

Command ids are per connection, contiguous from 1: a batch carries its first id, command i of
the batch has id `first_id + i`. A replies frame answers a contiguous run of ids, so replies
are in command order per connection by construction.

Why this shape (figures in docs/runtime.md): one syscall and one msgpack call per batch on each
side, so batching amortises everything per-frame; a stream socket gives ordering, a clean EOF
when a peer dies (even by SIGKILL: the kernel closes its end), and kernel buffering.

Back-pressure, never loss: the gateway side (`EngineLink`) may have at most `window` commands
un-replied. `room()` says how many more it may send now; `send` takes only what fits and leaves
the rest with the caller, who stops reading its clients' sockets until replies free room. The
engine side (`EngineListener`) therefore never buffers more than `window` commands per
connection, and a no_ack command still gets a (nil) reply: it is the credit that reopens the
window.

How the engine waits for input is one of the four wait strategies of `ring.py` (see
`EngineListener.wait`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import selectors
import socket
import struct
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import msgpack

from betex.core.domain import commands as C
from betex.core.domain.commands import Command
from betex.core.domain.events import Event
from betex.core.domain.results import Ack, Fill, MarketResult, OrderResult, Reject, Result
from betex.core.domain.types import RejectCode
from betex.core.durability.codec import EVENT_TYPES, NESTED, TAG_OF, from_fields
from betex.core.runtime.loop import CommandGroup
from betex.core.runtime.ring import BLOCKING_WAIT, BUSY_SPIN, SLEEPING, WAIT_STRATEGIES, YIELDING

HEADER = struct.Struct("<I")
MAX_FRAME = 64 << 20  # a bigger length prefix is a corrupt or hostile stream: drop the peer
KIND_COMMANDS = 0
KIND_REPLIES = 1
KIND_EVENTS = 2
KIND_HELLO = 3
KIND_METRICS = 4
KIND_FAILED = 5
DEFAULT_WINDOW = 16384  # commands a gateway may have un-replied (the ring size's default)
_RECV_SIZE = 1 << 20
_SPIN_CHECKS = 100
_SLEEP_MIN_S = 50e-6
_SLEEP_MAX_S = 1e-3

# Stable wire tags: never renumber, only append.
COMMAND_TYPES: dict[int, type[Any]] = {
    1: C.CreateMarket,
    2: C.AddRunners,
    3: C.PlaceOrder,
    4: C.CancelOrder,
    5: C.CancelAll,
    6: C.ReplaceOrder,
    7: C.SetMarketState,
    8: C.AwaitLiveMarket,
    9: C.GoLiveMarket,
    10: C.CloseMarket,
    11: C.VoidMarket,
    12: C.SettleMarket,
    13: C.VoidTrades,
    14: C.SetAccountLimit,
    15: C.ReduceOrder,
    16: C.RemoveRunner,  # 17..20 free for later exchange-rules commands
    21: C.CreateAccount,
    22: C.IssueKey,
    23: C.RevokeKey,
}
COMMAND_TAG: dict[type[Any], int] = {cls: tag for tag, cls in COMMAND_TYPES.items()}
GROUP_TAG = 0
"""A `CommandGroup`: its fields are the [tag, fields] of each command in it."""
_NESTED_TAGS = frozenset(TAG_OF[cls] for cls in NESTED)
_R_REJECT, _R_ORDER, _R_MARKET, _R_ACK, _R_GROUP = 1, 2, 3, 4, 5

_pack = msgpack.Packer(autoreset=True).pack  # one C call per frame; holds the GIL, so shareable


class ChannelError(Exception):
    """The byte stream is not a valid channel stream (bad length, undecodable payload)."""


class ChannelClosed(ConnectionError):
    """The peer is gone: EOF or a reset (it exited or was killed), or this end was closed."""


# ---------------------------------------------------------------------------- codec


def encode_commands(
    first_id: int,
    cmds: Sequence[Command | CommandGroup | WireGroup],
    want_reply: bool | Sequence[bool] = True,
) -> bytes:
    """A commands payload (no length prefix). `want_reply`: one flag for all, or one per command.
    A group goes fastest as a `WireGroup` (`wire_group`); a `CommandGroup` is converted here."""
    tag = COMMAND_TAG
    if isinstance(want_reply, bool):
        wants: Iterable[bool] = itertools.repeat(want_reply)
    else:
        if len(want_reply) != len(cmds):
            raise ValueError(f"{len(cmds)} commands but {len(want_reply)} want_reply flags")
        wants = want_reply
    try:
        body = [(tag[type(c)], w, c) for c, w in zip(cmds, wants, strict=False)]
    except KeyError:  # a CommandGroup: its commands need their tags
        body = [
            (tag[type(c)], w, c) if type(c) is not CommandGroup else (GROUP_TAG, w, wire_group(c.commands))
            for c, w in zip(cmds, wants, strict=False)
        ]
    payload: bytes = _pack((KIND_COMMANDS, first_id, body))
    return payload


class WireGroup(tuple):  # type: ignore[type-arg]
    """A command group as the channel carries it: ((tag, command), ...), packed natively."""

    __slots__ = ()


COMMAND_TAG[WireGroup] = GROUP_TAG


def wire_group(cmds: Iterable[Command]) -> WireGroup:
    """PLACE_ORDERS and friends for the channel: one id, one ring item (`CommandGroup` at the
    engine), the instructions in order."""
    tag = COMMAND_TAG
    return WireGroup((tag[type(c)], c) for c in cmds)


def _command_of(t: int, fields: Any) -> Any:
    if t == GROUP_TAG:
        types = COMMAND_TYPES
        return CommandGroup(tuple(types[t2](*f2) for t2, f2 in fields))
    return COMMAND_TYPES[t](*fields)


def decode_commands(payload: bytes) -> tuple[int, list[Command], list[bool]]:
    """(first_id, commands, want_reply flags); raises ChannelError on anything malformed."""
    try:
        kind, first_id, body = msgpack.unpackb(payload, use_list=False)
        if kind != KIND_COMMANDS:
            raise ChannelError(f"expected a commands frame, got kind {kind!r}")
        types = COMMAND_TYPES
        cmds: list[Command] = [types[t](*fields) if t else _command_of(t, fields) for t, _w, fields in body]
        wants = [bool(w) for _t, w, _f in body]
    except ChannelError:
        raise
    except Exception as exc:  # msgpack and the constructors raise several types for garbage
        raise ChannelError(f"undecodable commands frame: {exc!r}") from exc
    return first_id, cmds, wants


def _result_wire(r: Result | list[Result]) -> tuple[Any, ...]:
    t = type(r)
    if isinstance(r, list):
        return (_R_GROUP, [_result_wire(x) for x in r])
    if t is OrderResult:
        o: OrderResult = r  # type: ignore[assignment]
        repl = None if o.replacement is None else _result_wire(o.replacement)
        return (_R_ORDER, o[:12], repl)
    if t is Reject:
        return (_R_REJECT, r.code.value, r.message)  # type: ignore[union-attr]
    if t is MarketResult:
        return (_R_MARKET, r)
    if t is Ack:
        return (_R_ACK, r.detail)  # type: ignore[union-attr]
    raise TypeError(f"not a result: {r!r}")


def _result_of(w: Sequence[Any]) -> Any:
    """A `Result`, or the list of a command group's results."""
    tag = w[0]
    if tag == _R_ORDER:
        f = w[1]
        fills = tuple(Fill(*x) for x in f[10])
        repl = None if w[2] is None else _result_of(w[2])
        return OrderResult._make((*f[:10], fills, f[11], repl))
    if tag == _R_REJECT:
        return Reject(RejectCode(w[1]), w[2])
    if tag == _R_MARKET:
        return MarketResult(*w[1])
    if tag == _R_ACK:
        return Ack(w[1])
    if tag == _R_GROUP:
        return [_result_of(x) for x in w[1]]
    raise ChannelError(f"unknown result tag {tag!r}")


def encode_replies(first_id: int, replies: Sequence[Result | None]) -> bytes:
    """A replies payload: one entry per command of a contiguous id run (None: no reply wanted)."""
    body = [None if r is None else _result_wire(r) for r in replies]
    payload: bytes = _pack((KIND_REPLIES, first_id, body))
    return payload


def decode_replies(payload: bytes) -> tuple[int, list[Result | None]]:
    try:
        kind, first_id, body = msgpack.unpackb(payload, use_list=False)
        if kind != KIND_REPLIES:
            raise ChannelError(f"expected a replies frame, got kind {kind!r}")
        out = [None if w is None else _result_of(w) for w in body]
    except ChannelError:
        raise
    except Exception as exc:
        raise ChannelError(f"undecodable replies frame: {exc!r}") from exc
    return first_id, out


def encode_events(last_seq: int, events: Sequence[Event]) -> bytes:
    """An events payload: committed events (tags of `durability.codec`), the last at `last_seq`."""
    tag = TAG_OF
    payload: bytes = _pack((KIND_EVENTS, last_seq, [(tag[type(e)], e) for e in events]))
    return payload


def events_of(body: Sequence[Any]) -> list[Event]:
    """The events of an events frame's body (see `decode_engine_frame`)."""
    types = EVENT_TYPES
    try:
        return [
            types[t](*f) if t not in _NESTED_TAGS else from_fields(types[t], f)  # legs: rebuilt
            for t, f in body
        ]
    except Exception as exc:
        raise ChannelError(f"undecodable events frame: {exc!r}") from exc


def encode_hello(published_seq: int, state: dict[str, Any] | None = None) -> bytes:
    """`state`: what a gateway needs beside the WAL to serve (the API keys: `hello_state`)."""
    payload: bytes = _pack((KIND_HELLO, published_seq, state or {}))
    return payload


def encode_metrics(state: dict[str, Any]) -> bytes:
    payload: bytes = _pack((KIND_METRICS, state))
    return payload


def encode_failed(message: str) -> bytes:
    """The engine's last frame when it fail-stops: why (e.g. the WAL's ENOSPC), for /health."""
    payload: bytes = _pack((KIND_FAILED, message))
    return payload


def decode_engine_frame(payload: bytes) -> tuple[int, Any, Any]:
    """Any engine → gateway payload as (kind, a, b), undecoded inside:

    replies (KIND_REPLIES, first_id, [reply wire, ...]) → decode with `replies_of`;
    events (KIND_EVENTS, last_seq, [[tag, fields], ...]) → decode with `events_of`; hello (KIND_HELLO, published_seq, state).
    """
    try:
        msg = msgpack.unpackb(payload, use_list=False)
        kind = msg[0]
        if kind == KIND_HELLO:
            return KIND_HELLO, int(msg[1]), msg[2] if len(msg) > 2 else {}
        if kind == KIND_METRICS or kind == KIND_FAILED:
            return kind, msg[1], None
        if kind in (KIND_REPLIES, KIND_EVENTS):
            return kind, msg[1], msg[2]
    except Exception as exc:
        raise ChannelError(f"undecodable engine frame: {exc!r}") from exc
    raise ChannelError(f"unknown engine frame kind {kind!r}")


def replies_of(body: Sequence[Any]) -> list[Result | None]:
    """The results of a replies frame's body (see `decode_engine_frame`)."""
    try:
        return [None if w is None else _result_of(w) for w in body]
    except ChannelError:
        raise
    except Exception as exc:
        raise ChannelError(f"undecodable replies frame: {exc!r}") from exc


# ---------------------------------------------------------------------------- framing


def frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


class FrameReader:
    """Reassembles frames from a byte stream cut anywhere (partial reads are the normal case)."""

    __slots__ = ("_buf", "_max")

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Add bytes; return every payload now complete, oldest first."""
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos, end = 0, len(buf)
        unpack = HEADER.unpack_from
        while end - pos >= 4:
            (n,) = unpack(buf, pos)
            if n > self._max:
                raise ChannelError(f"frame of {n} bytes exceeds the {self._max}-byte limit")
            if end - pos - 4 < n:
                break
            out.append(bytes(buf[pos + 4 : pos + 4 + n]))
            pos += 4 + n
        if pos:
            del buf[:pos]
        return out


class Connection:
    """One end of a connected stream socket that carries frames. Non-blocking; single-threaded.

    `queue` appends a frame to the outgoing buffer and `flush` writes as much as the kernel takes
    (partial writes are kept for the next flush), so many frames go out in one `send`.
    """

    __slots__ = ("sock", "_reader", "_out", "closed", "bytes_in", "bytes_out", "close_on_error")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.close_on_error = True
        """False: on EOF or a reset, raise ChannelClosed but leave the socket open for the owner
        to close (an event loop must stop watching an fd before it is closed)."""
        self._reader = FrameReader()
        self._out = bytearray()
        self.closed = False
        self.bytes_in = 0
        self.bytes_out = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    @property
    def pending_out(self) -> int:
        return len(self._out)

    def queue(self, payload: bytes) -> None:
        if self.closed:
            raise ChannelClosed("connection is closed")
        self._out += HEADER.pack(len(payload))
        self._out += payload

    def flush(self) -> bool:
        """Send what the kernel takes now; True when nothing is left. Raises ChannelClosed."""
        out = self._out
        while out:
            try:
                n = self.sock.send(out)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as exc:  # EPIPE, ECONNRESET: the peer is gone
                self._gone()
                raise ChannelClosed(f"peer gone while sending: {exc}") from exc
            del out[:n]
            self.bytes_out += n
        return True

    def flush_blocking(self, timeout: float | None = None) -> None:
        """Flush, waiting for the socket to drain (TimeoutError after `timeout` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_WRITE)
            while not self.flush():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError("peer is not reading")
                sel.select(left)

    def recv_frames(self) -> list[bytes]:
        """Read what is available now (one recv) and return complete payloads; [] if none.

        Raises ChannelClosed on EOF or reset (the peer exited or was killed), ChannelError on a
        malformed stream.
        """
        try:
            data = self.sock.recv(_RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return []
        except OSError as exc:
            self._gone()
            raise ChannelClosed(f"peer gone while receiving: {exc}") from exc
        if not data:
            self._gone()
            raise ChannelClosed("peer closed the connection")
        self.bytes_in += len(data)
        return self._reader.feed(data)

    def _gone(self) -> None:
        if self.close_on_error:
            self.close()
        else:
            self.closed = True

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.close()


# ---------------------------------------------------------------------------- gateway end


class EngineLink:
    """A gateway's connection to the engine: send command batches, receive replies in order.

    At most `window` commands are un-replied at any time. `room()` is the back-pressure signal:
    at 0, stop reading clients' sockets (never drop) until `receive` frees room.
    """

    def __init__(self, sock: socket.socket, window: int = DEFAULT_WINDOW) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, not {window}")
        self.conn = Connection(sock)
        self.window = window
        self.next_id = 1  # id of the next command sent
        self.replied = 0  # every id <= replied has been answered
        self.hello_seq: int | None = None  # from the engine's first frame
        self._sel = selectors.DefaultSelector()
        self._sel.register(sock, selectors.EVENT_READ)

    @classmethod
    def connect(cls, path: str | Path, window: int = DEFAULT_WINDOW, timeout: float = 10.0) -> EngineLink:
        """Connect to an engine's socket, retrying until it listens or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(os.fspath(path))
                return cls(sock, window)
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def fileno(self) -> int:
        return self.conn.fileno()

    @property
    def in_flight(self) -> int:
        return self.next_id - 1 - self.replied

    def room(self) -> int:
        return self.window - self.in_flight

    def send(
        self, cmds: Sequence[Command | CommandGroup | WireGroup], want_reply: bool | Sequence[bool] = True
    ) -> int:
        """Queue and flush as many of `cmds` as the window allows (a prefix); returns how many.

        Raises ChannelClosed if the engine is gone.
        """
        n = min(len(cmds), self.room())
        if n <= 0:
            return 0
        if n < len(cmds):
            cmds = cmds[:n]
            if not isinstance(want_reply, bool):
                want_reply = want_reply[:n]
        self.conn.queue(encode_commands(self.next_id, cmds, want_reply))
        self.next_id += n
        self.conn.flush()
        return n

    def receive(self, timeout: float | None = 0.0) -> list[tuple[int, Result | None]]:
        """Replies that arrived, as (command id, result or None), in id order.

        Waits up to `timeout` seconds (None: forever) for the first one; also flushes unsent
        bytes. Raises ChannelClosed when the engine is gone.
        """
        conn = self.conn
        out: list[tuple[int, Result | None]] = []
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if conn.pending_out:
                conn.flush()
            for payload in conn.recv_frames():
                kind, first_id, body = decode_engine_frame(payload)
                if kind == KIND_HELLO:
                    self.hello_seq = first_id
                    continue
                if kind == KIND_EVENTS or kind == KIND_METRICS or kind == KIND_FAILED:
                    continue  # a plain link keeps neither a read model nor the engine's metrics
                replies = replies_of(body)
                if first_id != self.replied + 1:
                    raise ChannelError(
                        f"replies out of order: got id {first_id}, expected {self.replied + 1}"
                    )
                out.extend(zip(range(first_id, first_id + len(replies)), replies, strict=True))
                self.replied += len(replies)
            if out or timeout == 0:
                return out
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return out
            # the engine cannot answer what it has not received: also wait to write
            mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.pending_out else 0)
            self._sel.modify(conn.sock, mask)
            self._sel.select(left)

    def close(self) -> None:
        self._sel.close()
        self.conn.close()


# ---------------------------------------------------------------------------- engine end


class Incoming:
    """One decoded commands frame from one gateway connection."""

    __slots__ = ("peer", "first_id", "commands", "want_reply")

    def __init__(self, peer: Peer, first_id: int, commands: list[Command], want_reply: list[bool]) -> None:
        self.peer = peer
        self.first_id = first_id
        self.commands = commands
        self.want_reply = want_reply


class Peer:
    """The engine's view of one gateway connection: frames read but not yet taken, ids seen."""

    __slots__ = ("pid", "conn", "inbox", "next_id", "replied", "commands_in")

    def __init__(self, pid: int, conn: Connection) -> None:
        self.pid = pid
        self.conn = conn
        self.inbox: deque[Incoming] = deque()
        self.next_id = 1  # the id the next commands frame must start at
        self.replied = 0  # replies queued for every id <= replied
        self.commands_in = 0


class EngineListener:
    """The engine's end: a listening Unix socket and one `Peer` per gateway connection.

    Single-threaded (the engine's ingress thread). `wait` blocks per the wait strategy until a
    connection has bytes (or a gateway connects); `take` returns decoded frames round-robin
    over connections, one frame per connection per turn, so one flooding gateway cannot starve
    another; `reply` queues a replies frame and `flush` writes every connection's output. A
    peer that closes, dies or sends garbage is dropped and reported in `gone`.
    """

    def __init__(
        self, path: str | Path, wait_strategy: str = BLOCKING_WAIT, max_in_flight: int | None = None
    ) -> None:
        """`max_in_flight`: a connection with more un-replied commands than this has ignored its
        window and is dropped (bounds the engine's memory per gateway); None: no check."""
        if wait_strategy not in WAIT_STRATEGIES:
            raise ValueError(
                f"unknown wait strategy {wait_strategy!r}; choose one of {', '.join(WAIT_STRATEGIES)}"
            )
        self.path = Path(path)
        self.wait_strategy = wait_strategy
        self.max_in_flight = max_in_flight
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket file from a killed engine
        self._lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._lsock.bind(os.fspath(self.path))
        self._lsock.listen(64)
        self._lsock.setblocking(False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._lsock, selectors.EVENT_READ, None)
        # `wake()` from another thread (e.g. the WAL thread with replies) ends a `wait`
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._sel.register(self._wake_fd, selectors.EVENT_READ, self._wake_fd)
        self._woken = False
        self.peers: dict[int, Peer] = {}
        self._next_pid = 1
        self._ready: deque[Peer] = deque()  # peers with frames in their inbox, round-robin order
        self.gone: list[tuple[int, str]] = []  # (peer id, why) of dropped connections, for the owner
        self.frames_in = 0
        self.commands_in = 0
        self.published_seq = 0
        self.hello_state: Callable[[], dict[str, Any]] | None = None
        """What goes in each new connection's hello beside the seq (the owner sets it)."""
        """Seq of the last events frame queued to the peers (the owner sets the start: the WAL's end)."""

    # ------------------------------------------------------------ waiting and reading

    def _poll(self, timeout: float | None) -> bool:
        """Accept and read whatever is ready within `timeout`; True if any frame is pending."""
        for key, mask in self._sel.select(timeout):
            peer: Peer | int | None = key.data
            if peer is None:
                self._accept()
                continue
            if type(peer) is int:
                with contextlib.suppress(BlockingIOError):
                    os.eventfd_read(self._wake_fd)
                self._woken = True
                continue
            assert isinstance(peer, Peer)
            if mask & selectors.EVENT_WRITE:
                self._flush_peer(peer)
            if mask & selectors.EVENT_READ and peer.pid in self.peers:
                self._read(peer)
        if self._woken:
            self._woken = False
            return True
        return bool(self._ready)

    def wake(self) -> None:
        """Thread-safe: make the current or next `wait` return True (there may be no frame)."""
        os.eventfd_write(self._wake_fd, 1)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            peer = Peer(self._next_pid, Connection(sock))
            self._next_pid += 1
            self.peers[peer.pid] = peer
            self._sel.register(sock, selectors.EVENT_READ, peer)
            state = None if self.hello_state is None else self.hello_state()
            peer.conn.queue(encode_hello(self.published_seq, state))
            self._flush_peer(peer)

    def _read(self, peer: Peer) -> None:
        try:
            payloads = peer.conn.recv_frames()
            was_empty = not peer.inbox
            for payload in payloads:
                first_id, cmds, wants = decode_commands(payload)
                if first_id != peer.next_id:
                    raise ChannelError(f"command ids jump from {peer.next_id} to {first_id}")
                peer.next_id += len(cmds)
                limit = self.max_in_flight
                if limit is not None and peer.next_id - 1 - peer.replied > limit:
                    raise ChannelError(
                        f"more than {limit} commands in flight: the gateway ignored its window"
                    )
                peer.inbox.append(Incoming(peer, first_id, cmds, wants))
                self.frames_in += 1
                peer.commands_in += len(cmds)
                self.commands_in += len(cmds)
            if was_empty and peer.inbox:
                self._ready.append(peer)
        except (ChannelClosed, ChannelError) as exc:
            self.drop(peer, str(exc))

    def drop(self, peer: Peer, why: str) -> None:
        """Forget a connection (its unanswered commands get no replies: nobody can read them)."""
        if self.peers.pop(peer.pid, None) is None:
            return
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._sel.unregister(peer.conn.sock)
        peer.conn.close()
        peer.inbox.clear()
        self.gone.append((peer.pid, why))

    def wait(self, timeout: float) -> bool:
        """Wait per the strategy until a frame is pending or `wake()` was called (True), or
        `timeout` passes (False).

        blocking-wait: epoll with the timeout (no CPU while idle). sleeping: ~100 non-blocking
        polls, then sleeps of 50 us doubling to 1 ms. yielding: a non-blocking poll and
        `sched_yield()` per turn (the producer is another *process*: `sleep(0)` would only drop
        the GIL, sched_yield gives the core to a runnable gateway). busy-spin: non-blocking polls
        back to back (each is a syscall, which drops the GIL, so the engine's own threads still
        run), with a `sched_yield()` every 100 empty polls: on a machine with fewer free cores
        than spinning processes, a spin that never yields takes the core from the very gateway
        it waits for.
        """
        if self._ready:
            return True
        strategy = self.wait_strategy
        if strategy == BLOCKING_WAIT:
            return self._poll(timeout)
        deadline = time.monotonic() + timeout
        if strategy == BUSY_SPIN:
            spins = 0
            while not self._poll(0):
                spins += 1
                if spins % _SPIN_CHECKS == 0:
                    if time.monotonic() >= deadline:
                        return False
                    os.sched_yield()  # see the docstring: never the feeding process's core
            return True
        if strategy == YIELDING:
            while not self._poll(0):
                if time.monotonic() >= deadline:
                    return False
                os.sched_yield()
            return True
        assert strategy == SLEEPING
        for _ in range(_SPIN_CHECKS):
            if self._poll(0):
                return True
        delay = _SLEEP_MIN_S
        while not self._poll(0):
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, _SLEEP_MAX_S)
        return True

    def take(self, max_commands: int) -> list[Incoming]:
        """Pending frames, round-robin over connections, until about `max_commands` commands.

        Frames are taken whole (a frame is never split), so a batch may exceed `max_commands`
        by less than one frame. Also reads sockets that became readable meanwhile.
        """
        self._poll(0)
        out: list[Incoming] = []
        ready = self._ready
        n = 0
        while ready and n < max_commands:
            peer = ready.popleft()
            if peer.pid not in self.peers:
                continue
            inc = peer.inbox.popleft()
            out.append(inc)
            n += len(inc.commands)
            if peer.inbox:
                ready.append(peer)
        return out

    # ------------------------------------------------------------ replying

    def reply(self, inc: Incoming, results: Sequence[Result]) -> None:
        """Queue the replies to one frame (None where no reply was wanted); see `flush`."""
        peer = inc.peer
        if peer.pid not in self.peers:
            return  # the gateway is gone: nobody can read these
        replies = [r if w else None for r, w in zip(results, inc.want_reply, strict=True)]
        peer.conn.queue(encode_replies(inc.first_id, replies))
        peer.replied = inc.first_id + len(replies) - 1

    def publish(self, last_seq: int, events: Sequence[Event]) -> None:
        """Queue an events frame to every connection (see `flush`); `last_seq` is its last seq."""
        if events:
            payload = encode_events(last_seq, events)
            for peer in self.peers.values():
                peer.conn.queue(payload)
        self.published_seq = last_seq

    def broadcast(self, payload: bytes) -> None:
        """Queue one payload to every connection (see `flush`)."""
        for peer in self.peers.values():
            peer.conn.queue(payload)

    def flush(self) -> None:
        """Write queued replies to every connection; what the kernel does not take now is sent
        when the socket becomes writable (watched by `wait`), so a slow reader never blocks the
        engine and never stalls the others."""
        for peer in list(self.peers.values()):
            if peer.conn.pending_out:
                self._flush_peer(peer)

    def _flush_peer(self, peer: Peer) -> None:
        conn = peer.conn
        try:
            done = conn.flush()
        except ChannelClosed as exc:
            self.drop(peer, str(exc))
            return
        mask = selectors.EVENT_READ | (0 if done else selectors.EVENT_WRITE)
        with contextlib.suppress(KeyError, ValueError):
            if self._sel.get_key(conn.sock).events != mask:
                self._sel.modify(conn.sock, mask, peer)

    def pending_out(self) -> int:
        return sum(p.conn.pending_out for p in self.peers.values())

    def close(self) -> None:
        for peer in list(self.peers.values()):
            self.drop(peer, "engine closing")
        self._sel.close()
        self._lsock.close()
        os.close(self._wake_fd)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    """`seq` in slices of at most `n` (helper for batching senders)."""
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
