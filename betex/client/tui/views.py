"""Pure renderers: `UiState` in, Rich renderables out (no Textual, no I/O, no clock).

Each pane of the TUI shows exactly what one of these functions returns, so a pane's look can be
checked from a fixed state and the widgets stay dumb.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .. import messages as m
from ..ladder import fmt_price
from .layout import too_small_text
from .lifecycle import valid_actions
from .metrics import MetricsView
from .state import BotRow, Focus, UiState

T = TypeVar("T")

DEPTH_LEVELS = 10
PNL_MAX_LINES = 10
"""The P&L pane's tallest content (tui.tcss: #pnl max-height is this plus its borders)."""
KEYS_MAX_HEIGHT = 18
"""The keys pane's tallest (tui.tcss: #keys max-height)."""
"""Most levels of the selected runner's depth shown (the all-runners ladder shows 1 to 3 per
side, as `state.layout.ladder_levels` allows)."""

BACK_STYLE = "bold #e6f0ff on #1f4e79"
LAY_STYLE = "bold #fff0f5 on #7a2848"
DIM = "grey50"
STATE_STYLE = {
    "OPEN": "bold green",
    "SUSPENDED": "bold yellow",
    "CLOSED": "bold red",
    "SETTLED": "bold cyan",
    "VOIDED": "bold magenta",
}
CONN_STYLE = {
    "CONNECTED": "bold green",
    "CONNECTING": "bold yellow",
    "RECONNECTING": "bold yellow",
    "DISCONNECTED": "bold red",
    "CLOSED": "bold red",
}
BOT_LABEL = {"mm": "maker", "noise": "noise", "informed": "inf"}
NOTICE_STYLE = {"info": "white", "ok": "green", "error": "bold red"}


# --- formatting --------------------------------------------------------------------------------


def fmt_size(size: float, binary: bool = False) -> str:
    if binary:
        return f"{int(round(size))}" if size < 100_000 else f"{size / 1000:.0f}k"
    if size < 100:
        return f"{size:.2f}"
    if size < 10_000:
        return f"{size:.0f}"
    if size < 1_000_000:
        return f"{size / 1000:.1f}k"
    return f"{size / 1_000_000:.1f}M"


def fmt_ns(ns: int) -> str:
    if ns <= 0:
        return "-"
    if ns < 1_000:
        return f"{ns}ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.0f}µs" if ns >= 100_000 else f"{ns / 1_000:.1f}µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f}ms"
    return f"{ns / 1e9:.2f}s"


def fmt_rate(v: float) -> str:
    if v < 10:
        return f"{v:.1f}"
    if v < 10_000:
        return f"{v:.0f}"
    return f"{v / 1000:.1f}k"


def fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n}B"


def fmt_ts(ts_ns: int) -> str:
    """Engine time of day in UTC (so a fixed state renders the same everywhere)."""
    if ts_ns <= 0:
        return "--:--:--.---"
    dt = datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)
    return dt.strftime("%H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def side_names(binary: bool) -> tuple[str, str]:
    """(bid-ish side, ask-ish side) for the order keys: back/lay or buy/sell."""
    return ("BUY", "SELL") if binary else ("BACK", "LAY")


def _table(**kw: object) -> Table:
    return Table(
        box=None,
        pad_edge=False,
        show_edge=False,
        expand=True,
        collapse_padding=True,
        header_style="bold",
        **kw,  # type: ignore[arg-type]
    )


# --- panes -------------------------------------------------------------------------------------


def render_status(state: UiState) -> Text:
    """Connection, seq, lag, account, acks, bots (when their pane is hidden), then the URL last,
    so a narrow terminal cuts the least useful part."""
    c = state.conn
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(" betex ", style="bold black on #d7a100")
    t.append("  ")
    t.append(f"● {c.state}", style=CONN_STYLE.get(c.state, "bold"))
    if c.connected:
        t.append(f"  seq {c.seq}  lag {c.lag_ms:.1f}ms", style="white")
    elif c.failed_attempts:
        t.append(f"  attempt {c.failed_attempts}, retry in {c.next_retry_s:.1f}s", style="yellow")
    if c.reconnects:
        t.append(f"  reconnects {c.reconnects}", style=DIM)
    t.append(f"  account {state.account_id}", style="cyan")
    t.append("  acks off" if state.no_ack else "  acks on", style=DIM)
    if not state.layout.show_right:
        b = state.bots
        t.append("  bots ")
        t.append("RUNNING" if b.running else "PAUSED", style="green" if b.running else "yellow")
        t.append(f" {len(b.rows)}", style=DIM)
    if not c.connected and c.last_error:
        t.append(f"  ({c.last_error})", style="red")
    t.append(f"  {c.url or state.url}", style=DIM)
    return t


def market_window(state: UiState) -> list[int]:
    """The market ids that fit the markets pane (two lines each), a window that keeps the
    cursor in view: the pane shares the left column with the P&L and keys panes."""
    ids = state.market_ids
    lay = state.layout
    lines = lay.body_height - 2 - (pnl_lines(state) + 2)
    if lay.show_keys:
        lines -= min(KEYS_MAX_HEIGHT, len(current_keys(state)) + 1 + 2)
    cursor = ids.index(state.cursor_market) if state.cursor_market in ids else 0
    return window(ids, cursor, max(1, lines // 2))


def render_markets(state: UiState) -> RenderableType:
    if not state.markets:
        return Text("no markets yet: press 1 (soccer), 2 (two-runner) or 3 (binary)", style=DIM)
    tbl = _table(show_header=False)
    tbl.add_column("", width=1, no_wrap=True)
    tbl.add_column("", justify="right", no_wrap=True)
    tbl.add_column("", ratio=1, no_wrap=True, overflow="ellipsis")
    focused = state.focus is Focus.MARKETS
    cursor = state.cursor_market
    for mid in market_window(state):
        row = state.markets[mid]
        name = Text(
            row.name, style="reverse" if focused and mid == cursor else ("bold" if mid == cursor else "")
        )
        info = Text(row.market_state, style=STATE_STYLE.get(row.market_state, ""))
        info.append(f" {_phase(row.market_phase)}", style=DIM)
        if row.market_model:
            info.append(" binary" if row.market_model == "BINARY_YES" else " odds", style=DIM)
        tbl.add_row("▶" if mid == state.selected_market else "", str(mid), Text.assemble(name, "\n", info))
    return tbl


def _phase(phase: str) -> str:
    return {"AWAITING_LIVE": "AWAITING", "IN_PLAY": "IN-PLAY"}.get(phase, phase)


def _level_cell(levels: tuple[m.Level, ...], i: int, style: str, binary: bool) -> Text:
    if i >= len(levels):
        return Text(" \n ", style=DIM)
    lv = levels[i]
    t = Text(justify="center", style=style)
    t.append(fmt_price(lv.price, binary))
    t.append("\n")
    size = fmt_size(lv.size, binary) + ("*" if lv.implied > 0 else "")
    t.append(size, style="italic" if lv.implied > 0 else "not bold")
    return t


def render_market_header(state: UiState) -> Text:
    snap = state.snapshot
    if snap is None:
        if state.selected_market is not None:
            return Text(f"market {state.selected_market}: waiting for a snapshot…", style=DIM)
        return Text("no market selected (arrows + enter in the market list)", style=DIM)
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f"#{snap.market_id} {snap.name}", style="bold")
    t.append("  ")
    t.append(snap.market_state, style=STATE_STYLE.get(snap.market_state, "bold"))
    t.append(f" {snap.market_phase}", style="bold")
    t.append(f"  matched {fmt_size(snap.total_matched, snap.market_model == 'BINARY_YES')}  v{snap.version}")
    t.append(f"  {snap.market_model}{'/' + snap.book_type if snap.book_type else ''}", style=DIM)
    return t


def render_ladder(state: UiState) -> RenderableType:
    """The market header, every runner's best levels, then as many depth rows of the selected
    runner as the pane has lines left (`state.layout.ladder_lines`)."""
    snap = state.snapshot
    header = render_market_header(state)
    if snap is None:
        return header
    lines = state.layout.ladder_lines
    if isinstance(snap.book, m.BinaryBook):
        rows = max(1, min(DEPTH_LEVELS, lines - 5))
        return Group(header, Text(""), _binary_book(snap, snap.book, rows))
    fit = max(1, (lines - 2) // 2)  # header and table header, then two lines per runner
    runners = window(list(snap.runners), state.runner_cursor, fit)
    summary = _exchange_summary(state, snap, runners)
    used = 2 + 1 + 2 * len(runners)  # header, blank, table header, two lines per runner
    depth_rows = min(DEPTH_LEVELS, lines - used - 3)  # blank, depth title, depth header
    if depth_rows < 1:
        spacer = [Text("")] if lines >= used else []
        return Group(header, *spacer, summary)
    return Group(header, Text(""), summary, Text(""), _runner_depth(state, snap, depth_rows))


def window(items: list[T], cursor: int, fit: int) -> list[T]:
    """At most `fit` of `items`, a slice that keeps index `cursor` in view (near the middle)."""
    if len(items) <= fit:
        return items
    start = max(0, min(cursor - fit // 2, len(items) - fit))
    return items[start : start + fit]


def _exchange_summary(state: UiState, snap: m.Snapshot, runners: list[m.RunnerInfo]) -> Table:
    book = snap.book if isinstance(snap.book, m.ExchangeBook) else m.ExchangeBook(())
    levels = state.layout.ladder_levels
    tbl = _table(show_lines=False)
    tbl.add_column("runner", ratio=1, min_width=10, no_wrap=True, overflow="ellipsis")
    for _ in range(levels - 1):
        tbl.add_column("", justify="center", width=7, no_wrap=True)
    tbl.add_column("back", justify="center", width=7, no_wrap=True)
    tbl.add_column("lay", justify="center", width=7, no_wrap=True)
    for _ in range(levels - 1):
        tbl.add_column("", justify="center", width=7, no_wrap=True)
    tbl.add_column("ltp", justify="right", width=6, no_wrap=True)
    tbl.add_column("traded", justify="right", width=7, no_wrap=True)
    focused = state.focus is Focus.RUNNERS
    selected = state.selected_runner
    for r in runners:
        ladder = book.ladder(r.runner_id)
        backs = ladder.available_to_back if ladder else ()
        lays = ladder.available_to_lay if ladder else ()
        mark = "▶ " if r.runner_id == selected else "  "
        if r.removed:  # a non-runner (REMOVE_RUNNER): no ladder, its reduction factor instead
            factor = "" if r.reduction_factor is None else f" {r.reduction_factor:g}%"
            name = Text(f"{mark}{r.label}\n  REMOVED{factor}", no_wrap=True, style=DIM)
            name.stylize("strike", len(mark), len(mark) + len(r.label))
        else:
            name = Text(f"{mark}{r.label}\n  id {r.runner_id}", no_wrap=True)
        if r.runner_id == selected:
            name.stylize("reverse" if focused else "bold", 0, len(mark) + len(r.label))
        if r.removed:
            cells = [Text("")] * (2 * levels - 1)
            cells.insert(levels - 1, Text("removed", style=DIM))
        else:
            cells = [_level_cell(backs, i, BACK_STYLE, False) for i in reversed(range(levels))]
            cells += [_level_cell(lays, i, LAY_STYLE, False) for i in range(levels)]
        tbl.add_row(
            name,
            *cells,
            Text(fmt_price(r.last_traded_price)),
            Text(fmt_size(r.traded_volume)),
        )
    return tbl


def _runner_depth(state: UiState, snap: m.Snapshot, max_rows: int) -> RenderableType:
    rid = state.selected_runner
    book = snap.book if isinstance(snap.book, m.ExchangeBook) else None
    ladder = book.ladder(rid) if book is not None and rid is not None else None
    title = Text(f"depth: {state.runner_label(rid) if rid is not None else '-'}", style="bold")
    title.append("   * = includes implied (i = implied part)", style=DIM)
    tbl = _table()
    tbl.add_column("to back", justify="right", no_wrap=True)
    tbl.add_column("size", justify="right", no_wrap=True)
    tbl.add_column("i", justify="right", no_wrap=True, style=DIM)
    tbl.add_column("│", width=1, no_wrap=True, style=DIM)
    tbl.add_column("to lay", justify="right", no_wrap=True)
    tbl.add_column("size", justify="right", no_wrap=True)
    tbl.add_column("i", justify="right", no_wrap=True, style=DIM)
    backs = ladder.available_to_back if ladder else ()
    lays = ladder.available_to_lay if ladder else ()
    n = max(len(backs), len(lays), 1)
    for i in range(min(n, max_rows)):
        row: list[Text] = []
        for levels, style in ((backs, "#8ec5ff"), (lays, "#ff9ec0")):
            if i < len(levels):
                lv = levels[i]
                row += [
                    Text(fmt_price(lv.price), style=f"bold {style}"),
                    Text(fmt_size(lv.size)),
                    Text(fmt_size(lv.implied) if lv.implied > 0 else ""),
                ]
            else:
                row += [Text("-", style=DIM), Text(""), Text("")]
            if len(row) == 3:
                row.append(Text("│", style=DIM))
        tbl.add_row(*row)
    return Group(title, tbl)


def _binary_book(snap: m.Snapshot, book: m.BinaryBook, max_rows: int) -> RenderableType:
    r = snap.runners[0] if snap.runners else m.RunnerInfo(1, "YES")
    head = Text(f"{r.label} (id {r.runner_id})  ltp ", style="bold")
    head.append(fmt_price(r.last_traded_price, True) + (" bps" if r.last_traded_price else ""))
    head.append(f"  traded {fmt_size(r.traded_volume, True)} shares")
    tbl = _table()
    tbl.add_column("bid size", justify="right", no_wrap=True)
    tbl.add_column("bid bps", justify="right", no_wrap=True)
    tbl.add_column("prob", justify="right", no_wrap=True, style=DIM)
    tbl.add_column("│", width=1, no_wrap=True, style=DIM)
    tbl.add_column("ask bps", justify="right", no_wrap=True)
    tbl.add_column("ask size", justify="right", no_wrap=True)
    tbl.add_column("prob", justify="right", no_wrap=True, style=DIM)
    n = max(len(book.bids), len(book.asks), 1)
    for i in range(min(n, max_rows)):
        row: list[Text] = []
        if i < len(book.bids):
            lv = book.bids[i]
            row += [
                Text(fmt_size(lv.size, True)),
                Text(fmt_price(lv.price, True), style=BACK_STYLE),
                Text(f"{lv.price / 100:.2f}%"),
            ]
        else:
            row += [Text(""), Text("-", style=DIM), Text("")]
        row.append(Text("│", style=DIM))
        if i < len(book.asks):
            lv = book.asks[i]
            row += [
                Text(fmt_price(lv.price, True), style=LAY_STYLE),
                Text(fmt_size(lv.size, True)),
                Text(f"{lv.price / 100:.2f}%"),
            ]
        else:
            row += [Text("-", style=DIM), Text(""), Text("")]
        tbl.add_row(*row)
    return Group(head, Text(""), tbl)


def render_trades(state: UiState) -> RenderableType:
    if not state.trades:
        return Text("no trades yet", style=DIM)
    binary = state.is_binary
    tbl = _table()
    tbl.add_column("UTC", no_wrap=True, style=DIM)
    tbl.add_column("runner", no_wrap=True, ratio=1, overflow="ellipsis")
    tbl.add_column("price", justify="right", no_wrap=True)
    tbl.add_column("size", justify="right", no_wrap=True)
    tbl.add_column("", no_wrap=True)
    for t in state.trades:
        flags = ("i" if t.implied else "") + ("V" if t.voided else "")
        tbl.add_row(
            fmt_ts(t.ts),
            state.runner_label(t.runner_id),
            fmt_price(t.price, binary),
            fmt_size(t.size, binary),
            flags,
            style="strike" if t.voided else "",
        )
    return tbl


def render_orders(state: UiState) -> RenderableType:
    rows = state.order_list
    if not rows:
        return Text(f"no orders for account {state.account_id} — b/l to place", style=DIM)
    binary = state.is_binary
    tbl = _table()
    tbl.add_column("id", justify="right", no_wrap=True)
    tbl.add_column("runner", no_wrap=True, ratio=1, min_width=4, overflow="ellipsis")
    tbl.add_column("side", no_wrap=True)
    tbl.add_column("price", justify="right", no_wrap=True)
    tbl.add_column("size", justify="right", no_wrap=True)
    tbl.add_column("mtch", justify="right", no_wrap=True)
    tbl.add_column("status", no_wrap=True)
    focused = state.focus is Focus.ORDERS
    sel = state.selected_order
    fit = max(1, state.layout.lower_height - 3)  # borders and the table header
    for o in window(rows, state.order_cursor, fit):
        side_style = "#8ec5ff" if o.side in ("BACK", "BUY") else "#ff9ec0"
        status = o.outcome
        style = "reverse" if focused and sel is not None and o.order_id == sel.order_id else ""
        if not o.is_open and not style:
            style = DIM
        tbl.add_row(
            str(o.order_id),
            state.runner_label(o.runner_id),
            Text(o.side, style=side_style),
            fmt_price(o.price, binary),
            fmt_size(o.size, binary),
            fmt_size(o.size_matched, binary),
            status,
            style=style,
        )
    return tbl


def pnl_lines(state: UiState) -> int:
    """Lines `render_pnl` takes (the markets pane gets the rest of the left column)."""
    r = state.risk
    if state.selected_market is None or r is None:
        return 1
    outcomes = len(r.if_win) if r.if_win else len(state.runner_ids)
    settled = (r.settled_pnl is not None) * (3 if r.commission else 1)
    return min(PNL_MAX_LINES, settled + 1 + outcomes + 2)


def render_pnl(state: UiState) -> RenderableType:
    """My P&L in the selected market from `/risk`: if-win per runner and the worst case while
    trading; the settled P&L once the market is settled (or voided)."""
    r = state.risk
    if state.selected_market is None:
        return Text("no market", style=DIM)
    if r is None:
        return Text("waiting for /risk…", style=DIM)
    binary = state.is_binary
    tbl = _table(show_header=False)
    tbl.add_column("", no_wrap=True, ratio=1, overflow="ellipsis")
    tbl.add_column("", justify="right", no_wrap=True)
    if r.settled_pnl is not None:
        tbl.add_row(Text("settled", style="bold"), _money(r.settled_pnl, bold=True))
        if r.commission:  # gross above, then the commission and the net (domain.md §7)
            tbl.add_row(Text(" commission", style=DIM), _money(-r.commission))
            tbl.add_row(Text(" net", style="bold"), _money(r.settled_pnl - r.commission, bold=True))
    tbl.add_row(Text("if wins:", style=DIM), "")
    yes = state.runner_ids[0] if binary and state.runner_ids else None
    for rid, pnl in r.if_win or tuple((rid, 0.0) for rid in state.runner_ids):
        label = "NO" if binary and rid != yes else state.runner_label(rid)
        tbl.add_row(f" {label}", _money(pnl))
    tbl.add_row("worst", _money(r.worst_case))
    tbl.add_row(Text("w/ open", style=DIM), _money(r.worst_case_with_unmatched))
    return tbl


def _money(v: float, bold: bool = False) -> Text:
    style = ("green" if v > 0 else "red" if v < 0 else "") + (" bold" if bold else "")
    return Text(f"{v:+,.2f}" if v else "0.00", style=style.strip())


def render_bots(state: UiState) -> RenderableType:
    b = state.bots
    head = Text()
    head.append("RUNNING" if b.running else "PAUSED", style="bold green" if b.running else "bold yellow")
    head.append(f"  market {b.market_id if b.market_id is not None else '-'}")
    head.append(f"  queued {b.queued}  dropped {b.dropped}", style=DIM)
    tbl = _table()
    tbl.add_column("bot", no_wrap=True)
    tbl.add_column("sent", justify="right", no_wrap=True)
    tbl.add_column("ack", justify="right", no_wrap=True)
    tbl.add_column("rej", justify="right", no_wrap=True)
    tbl.add_column("trd", justify="right", no_wrap=True)
    tbl.add_column("vol", justify="right", no_wrap=True)
    tot = [0, 0, 0, 0]
    vol = 0.0
    for r in b.rows:
        tbl.add_row(
            _bot_name(r), str(r.sent), str(r.acked), str(r.rejected), str(r.trades), fmt_size(r.volume)
        )
        tot[0] += r.sent
        tot[1] += r.acked
        tot[2] += r.rejected
        tot[3] += r.trades
        vol += r.volume
    if b.rows:
        tbl.add_row(
            Text("total", style="bold"),
            *(Text(str(v), style="bold") for v in tot),
            Text(fmt_size(vol), style="bold"),
        )
    else:
        tbl.add_row(Text("no bots (m/n/i add)", style=DIM), "", "", "", "", "")
    return Group(head, tbl)


def _bot_name(r: BotRow) -> str:
    return f"{BOT_LABEL.get(r.kind, r.kind)} {r.account_id}"


def render_metrics(state: UiState) -> RenderableType:
    mv: MetricsView | None = state.metrics
    if mv is None:
        return Text("waiting for /metrics…", style=DIM)
    if mv.error is not None:
        return Text(f"/metrics: {mv.error}", style="red")
    head = _table(show_header=False)
    head.add_column("", no_wrap=True)
    head.add_column("", justify="right", no_wrap=True)
    head.add_row("events/s", Text(fmt_rate(mv.events_per_s), style="bold"))
    head.add_row("commands/s", Text(fmt_rate(mv.commands_per_s), style="bold"))
    head.add_row("rejects/s", fmt_rate(mv.rejects_per_s))
    head.add_row("seq", str(mv.seq))
    head.add_row("ring", f"{mv.ring_depth}/{mv.ring_size} {mv.wait_strategy}")
    head.add_row("proj. lag", f"{mv.projection_lag} ev")
    head.add_row("wal", f"{fmt_bytes(mv.wal_bytes)} {mv.durability}")
    stages = _table()
    stages.add_column("stage", no_wrap=True)
    stages.add_column("p50", justify="right", no_wrap=True)
    stages.add_column("p99", justify="right", no_wrap=True)
    for s in mv.stages:
        stages.add_row(s.name, fmt_ns(s.p50_ns), fmt_ns(s.p99_ns))
    return Group(head, Text(f"window {mv.window_s:.1f}s", style=DIM), stages)


def render_notices(state: UiState) -> RenderableType:
    if not state.notices:
        return Text("press ? for help", style=DIM)
    t = Text(no_wrap=True, overflow="ellipsis")
    shown = list(state.notices)[-max(1, state.layout.log_lines) :]
    for i, n in enumerate(shown):
        if i:
            t.append("\n")
        t.append(n.text, style=NOTICE_STYLE.get(n.level, ""))
    return t


HELP_KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "navigate",
        (
            ("tab / shift+tab", "focus markets → runners → orders"),
            ("↑ ↓ (or k j)", "move the cursor in the focused pane"),
            ("enter", "show the market under the cursor"),
            ("r", "refresh the market list"),
        ),
    ),
    (
        "markets",
        (
            ("1", "create a soccer market (Home/Draw/Away, cross-matched)"),
            ("2", "create a two-runner market (implied matching)"),
            ("3", "create a binary (YES shares) market"),
            ("s", "suspend / resume"),
            ("a", "await live (in-play capable, pre-play only)"),
            ("g", "go live (in play; lapses LAPSE orders)"),
            ("c", "close"),
            ("w", "settle: pick the winner"),
            ("v", "void the market"),
        ),
    ),
    (
        "trade",
        (
            ("b", "back (buy for binary) the selected runner"),
            ("l", "lay (sell for binary) the selected runner"),
            ("tab space enter", "ticket: next field · persist on/off · place"),
            ("x", "cancel the selected order"),
            ("X", "cancel all my orders in the market"),
        ),
    ),
    (
        "bots",
        (
            ("p", "start / pause the bots (pausing drops queued bot commands)"),
            ("m / M", "add / remove a market maker"),
            ("n / N", "add / remove a noise trader"),
            ("i / I", "add / remove an informed trader"),
        ),
    ),
    ("app", (("?", "this help"), ("q", "quit"), ("footer", "lists the keys that work now"))),
)


def render_help() -> Table:
    tbl = Table(box=None, show_header=False, pad_edge=False, expand=True)
    tbl.add_column("key", style="bold #d7a100", no_wrap=True)
    tbl.add_column("action")
    for group, keys in HELP_KEYS:
        tbl.add_row(Text(group.upper(), style="bold underline"), "")
        for key, what in keys:
            tbl.add_row(key, what)
        tbl.add_row("", "")
    return tbl


def current_keys(state: UiState) -> list[tuple[str, str]]:
    """The keys that can work now, for the footer and the keys pane: market lifecycle keys only
    for the selected market's state and phase (lifecycle.py), trading keys only while it is OPEN."""
    keys: list[tuple[str, str]] = []
    life = state.market_life
    if life is None:
        keys.append(("1/2/3", "create"))
    if life is not None:
        ok = set(valid_actions(life))
        if "suspend" in ok:
            keys.append(("s", "resume" if life.state in ("SUSPENDED", "HALTED") else "suspend"))
        for action, key, what in (
            ("await", "a", "await live"),
            ("golive", "g", "go live"),
            ("close", "c", "close"),
            ("settle", "w", "settle"),
            ("void", "v", "void"),
        ):
            if action in ok:
                keys.append((key, what))
        if "order" in ok:
            keys.append(("b/l", "buy/sell" if state.is_binary else "back/lay"))
        if any(o.is_open for o in state.order_list):
            keys.append(("x/X", "cancel/all"))
    keys += [("?", "help"), ("q", "quit"), ("p", "pause bots" if state.bots.running else "start bots")]
    if life is not None:
        keys.append(("1/2/3", "create"))
    keys.append(("tab", "focus"))
    return keys


def render_footer(state: UiState) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    for key, what in current_keys(state):
        t.append(f" {key}", style="bold #d7a100")
        t.append(f" {what} ")
    return t


def render_keys_hint(state: UiState) -> Text:
    """The key summary under the P&L (tall terminals): what works now, then the bot keys."""
    t = Text()
    hints = [*current_keys(state), ("m n i", "+bot (shift −)")]
    for i, (k, what) in enumerate(hints):
        if i:
            t.append("\n")
        t.append(f"{k:>6} ", style="bold #d7a100")
        t.append(what)
    return t


def render_persist(persist: bool, focused: bool) -> Text:
    """The order ticket's persistence box: ticked PERSIST or empty LAPSE, in words and marks."""
    t = Text()
    box = "[✓]" if persist else "[ ]"
    t.append(box, style=("reverse " if focused else "") + ("bold green" if persist else "bold"))
    if persist:
        t.append(" PERSIST", style="bold green")
        t.append(": keep the unmatched part when the market goes in play")
    else:
        t.append(" LAPSE", style="bold")
        t.append(": cancel the unmatched part when the market goes in play", style=DIM)
    if focused:
        t.append("  (space toggles)", style=DIM)
    return t


def render_too_small(width: int, height: int) -> Text:
    return Text(too_small_text(width, height), style="bold yellow", justify="center")
