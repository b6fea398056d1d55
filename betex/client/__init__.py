"""The asyncio Python client for a betex server, and the trading bots built on it.

- `BetexClient`: one `/ws_ctl` connection (commands, replies by correlation id, snapshots,
  reconnect with backoff); `BetexHttp`: the HTTP read endpoints.
- `messages`: typed ServerMsg records and ClientMsg builders; `records`: typed HTTP rows.
- `ladder`: next tick up/down and snapping a price onto the odds ladder.
- `bots`: market maker, noise and informed traders; `BotRunner` drives them over a client.
- `loadgen.run_load`: the whole `betex bots` run as a library call.
"""

from __future__ import annotations

from .connection import Backoff, BetexClient, CommandFailed, ConnectionStatus, ConnState
from .errors import (
    AccessRefused,
    ClientError,
    ConnectionLost,
    HttpError,
    NotConnected,
    RequestTimeout,
    ServerUnreachable,
)
from .http import BetexHttp
from .ladder import on_ladder, snap, snap_bps, tick_down, tick_up
from .latency import LatencyRecorder, LatencySummary
from .messages import (
    AccountSettled,
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
    OrdersResponse,
    OrderUpdate,
    RunnerInfo,
    RunnerLadder,
    ServerError,
    ServerMsg,
    Snapshot,
    Status,
    UnknownMsg,
)
from .presets import PRESETS
from .records import OrderRow, Page, RiskRow, TradeRow
from .urls import DEFAULT_URL, http_base, ws_ctl_url

__all__ = [
    "DEFAULT_URL",
    "PRESETS",
    "AccessRefused",
    "AccountSettled",
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
    "OrderRow",
    "OrderUpdate",
    "OrdersResponse",
    "Page",
    "RequestTimeout",
    "RiskRow",
    "RunnerInfo",
    "RunnerLadder",
    "ServerError",
    "ServerMsg",
    "ServerUnreachable",
    "Snapshot",
    "Status",
    "TradeRow",
    "UnknownMsg",
    "http_base",
    "on_ladder",
    "snap",
    "snap_bps",
    "tick_down",
    "tick_up",
    "ws_ctl_url",
]
