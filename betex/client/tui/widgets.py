"""Dumb widgets: each pane shows what its renderer in `views` makes of the `UiState`."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import RenderableType
from textual.widgets import Static

from . import views
from .state import Focus, UiState

Renderer = Callable[[UiState], RenderableType]


class Pane(Static):
    """A bordered pane; `show(state)` re-renders it, and nothing else ever changes it."""

    def __init__(self, renderer: Renderer, *, title: str, id: str, focus: Focus | None = None) -> None:
        super().__init__("", id=id, classes="pane")
        self.renderer = renderer
        self.border_title = title
        self.focus_key = focus

    def show(self, state: UiState) -> None:
        self.update(self.renderer(state))
        if self.focus_key is not None:
            self.set_class(state.focus is self.focus_key, "focused")


class StatusBar(Static):
    def show(self, state: UiState) -> None:
        self.update(views.render_status(state))


class KeyBar(Static):
    """The footer: the keys that work now (`views.render_footer`)."""

    def show(self, state: UiState) -> None:
        self.update(views.render_footer(state))


def main_panes() -> list[Pane]:
    """The panes of the main screen, in layout order (see `tui.tcss`)."""
    return [
        Pane(views.render_markets, title="markets", id="markets", focus=Focus.MARKETS),
        Pane(views.render_pnl, title="my P&L", id="pnl"),
        Pane(views.render_keys_hint, title="keys", id="keys"),
        Pane(views.render_ladder, title="ladder", id="ladder", focus=Focus.RUNNERS),
        Pane(views.render_trades, title="recent trades", id="trades"),
        Pane(views.render_orders, title="my orders", id="orders", focus=Focus.ORDERS),
        Pane(views.render_bots, title="bots", id="bots"),
        Pane(views.render_metrics, title="metrics", id="metrics"),
        Pane(views.render_notices, title="log", id="notices"),
    ]
