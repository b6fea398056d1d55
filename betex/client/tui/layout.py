"""The responsive layout: terminal size in, which panes show and how big they are out (pure).

The main screen is always the same tree of panes (see `app.MainScreen`); `plan(width, height)`
decides which of them are displayed and their sizes, and the views read the parts that change
what they draw (ladder levels, depth rows, compact lists). The app applies a plan to the
widgets on every resize; nothing here touches Textual.

Collapse order, as the terminal narrows (docs/tui.md repeats it):
1. the right column (bots, metrics) goes below `RIGHT_MIN_WIDTH` columns; the status line then
   carries a one-word bots summary;
2. recent trades go when the centre is narrower than `TRADES_MIN_CENTER`;
3. the ladder shows 3, then 2, then 1 price level per side, as its width allows;
4. the left column (markets, P&L) narrows from 28 to 24 to 20 to 19 columns.
As the terminal gets shorter: the keys pane goes first (the footer always lists the keys valid
now), then the selected runner's depth rows shrink to none, then the log and "my orders" shrink.
Below `MIN_WIDTH`×`MIN_HEIGHT` only a "terminal too small" notice is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_WIDTH = 80
MIN_HEIGHT = 24
RIGHT_MIN_WIDTH = 140
"""Terminal width from which the bots and metrics column shows."""
TRADES_MIN_CENTER = 80
"""Centre width from which recent trades sit beside my orders."""
KEYS_MIN_HEIGHT = 44
"""Terminal height from which the keys pane shows under the P&L."""

TRADES_WIDTH = 36
KEYS_HEIGHT = 11
METRICS_HEIGHT = 17
LADDER_FIXED = 4 + 25
"""Ladder width without price levels: border and padding (4), runner (10+1), ltp (6+1), traded (7)."""
LADDER_LEVEL = 16
"""Width of one price level per side (a back cell and a lay cell, 7 wide each plus a gap)."""


@dataclass(frozen=True, slots=True)
class Layout:
    width: int = 160
    height: int = 48
    too_small: bool = False
    left_width: int = 28
    right_width: int = 44
    """0: the bots/metrics column is hidden."""
    show_trades: bool = True
    show_keys: bool = True
    lower_height: int = 14
    """'my orders' (and recent trades) height, borders included."""
    log_height: int = 7
    ladder_levels: int = 3
    ladder_lines: int = 20
    """Lines inside the ladder pane (its height less the borders)."""

    @property
    def show_right(self) -> bool:
        return self.right_width > 0

    @property
    def center_width(self) -> int:
        return self.width - self.left_width - self.right_width

    @property
    def body_height(self) -> int:
        """Lines between the status line and the log (the three columns)."""
        return self.height - 2 - self.log_height

    @property
    def log_lines(self) -> int:
        return self.log_height - 2


def plan(width: int, height: int) -> Layout:
    """The layout for a `width`×`height` terminal (see the module docstring for the order)."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return Layout(width, height, too_small=True)
    left = 28 if width >= 160 else 24 if width >= 120 else 20 if width >= 100 else 19
    right = (44 if width >= 180 else 40) if width >= RIGHT_MIN_WIDTH else 0
    center = width - left - right
    levels = max(1, min(3, (center - LADDER_FIXED) // LADDER_LEVEL))
    body = height - 2  # status line and footer
    log = 7 if height >= 40 else 5 if height >= 30 else 4
    body -= log
    lower = 14 if height >= 48 else 10 if height >= 36 else 8 if height >= 28 else 7
    ladder = body - lower
    return Layout(
        width,
        height,
        left_width=left,
        right_width=right,
        show_trades=center >= TRADES_MIN_CENTER,
        show_keys=height >= KEYS_MIN_HEIGHT,
        lower_height=lower,
        log_height=log,
        ladder_levels=levels,
        ladder_lines=ladder - 2,
    )


def too_small_text(width: int, height: int) -> str:
    return (
        f"terminal too small: {width}×{height}\n"
        f"betex tui needs at least {MIN_WIDTH}×{MIN_HEIGHT}\n"
        "enlarge the window (or shrink the font); q quits"
    )
