"""The asyncio Python client for a betex server, and the trading bots built on it.

- `BetexClient`: one `/ws_ctl` connection (commands, replies by correlation id, snapshots,
  reconnect with backoff); `BetexHttp`: the HTTP read endpoints.
- `messages`: typed ServerMsg records and ClientMsg builders.
- `bots`: market maker, noise and informed traders; `BotRunner` drives them over a client.
- `loadgen.run_load`: the whole `betex bots` run as a library call.
"""

from __future__ import annotations

from .connection import Backoff, BetexClient, CommandFailed, ConnectionStatus, ConnState
from .errors import ClientError, ConnectionLost, HttpError, NotConnected, RequestTimeout, ServerUnreachable
from .http import BetexHttp
from .latency import LatencyRecorder, LatencySummary
from .messages import (
    Ack,
    BinaryBook,
    ErrorInfo,
    ExchangeBook,
    Fill,
    Level,
    MarketCreated,
    MarketInfo,
    MarketList,
    MarketUpdated,
    OrderResponse,
    RunnerInfo,
    RunnerLadder,
    ServerError,
    ServerMsg,
    Snapshot,
    Status,
    UnknownMsg,
)
from .presets import PRESETS
from .urls import DEFAULT_URL, http_base, ws_ctl_url

__all__ = [
    "DEFAULT_URL",
    "PRESETS",
    "Ack",
    "Backoff",
    "BetexClient",
    "BetexHttp",
    "BinaryBook",
    "ClientError",
    "CommandFailed",
    "ConnState",
    "ConnectionLost",
    "ConnectionStatus",
    "ErrorInfo",
    "ExchangeBook",
    "Fill",
    "HttpError",
    "LatencyRecorder",
    "LatencySummary",
    "Level",
    "MarketCreated",
    "MarketInfo",
    "MarketList",
    "MarketUpdated",
    "NotConnected",
    "OrderResponse",
    "RequestTimeout",
    "RunnerInfo",
    "RunnerLadder",
    "ServerError",
    "ServerMsg",
    "ServerUnreachable",
    "Snapshot",
    "Status",
    "UnknownMsg",
    "http_base",
    "ws_ctl_url",
]
