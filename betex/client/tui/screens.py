"""Modal screens: help, the order ticket and the winner picker. They return values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import RenderableType
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from ..ladder import fmt_price
from . import views


class HelpScreen(ModalScreen[None]):
    """The key list; it scrolls (↑ ↓, page keys) where the terminal is shorter than the list."""

    BINDINGS = [
        Binding("escape", "dismiss_help", "close"),
        Binding("question_mark", "dismiss_help", "close"),
        Binding("q", "dismiss_help", "close"),
    ]
    AUTO_FOCUS = "#help-box"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="modal"):
            yield Static(views.render_help(), id="help")
            yield Label("esc / ? / q: close · ↑ ↓: scroll", classes="hint")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class OrderTicket:
    market_id: int
    runner_id: int
    side: str
    price: float
    size: float
    persist: bool = False


@dataclass(frozen=True, slots=True)
class TicketDefaults:
    market_id: int
    runners: tuple[tuple[int, str], ...]
    runner_id: int
    side: str
    price: float
    size: float
    binary: bool = False


class PersistBox(Static, can_focus=True):
    """The ticket's persistence choice: space (or a click) toggles it, enter places the order
    (the screen's binding). The two states read differently (`views.render_persist`), not by
    colour alone."""

    BINDINGS = [Binding("space", "flip", "toggle", show=False)]
    value: reactive[bool] = reactive(False)

    def render(self) -> RenderableType:
        return views.render_persist(self.value, self.has_focus)

    def action_flip(self) -> None:
        self.value = not self.value

    def on_click(self) -> None:
        self.value = not self.value

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


class OrderScreen(ModalScreen[OrderTicket | None]):
    """Enter in any field places the order; esc cancels. Validation here is only about form
    (numbers, a known runner); the engine judges prices and sizes.

    Tab is a *priority* binding: it moves the focus as soon as the app reads it, so the keys
    typed right after it (already on their way) land in the new field. As a widget binding it
    ran only after the old field had taken them."""

    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("tab", "app.focus_next", "next field", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", "previous field", show=False, priority=True),
        Binding("enter", "place", "place", show=False),
    ]
    AUTO_FOCUS = "#price"

    def __init__(self, d: TicketDefaults) -> None:
        super().__init__()
        self.d = d

    def compose(self) -> ComposeResult:
        d = self.d
        names = ", ".join(f"{rid}={label}" for rid, label in d.runners)
        unit = "bps" if d.binary else "odds"
        with Vertical(id="order-box", classes="modal"):
            yield Label(f"{d.side} — market {d.market_id}", id="order-title")
            yield Label(names, classes="hint")
            with Horizontal(classes="field"):
                yield Label("runner")
                yield Input(str(d.runner_id), id="runner", type="integer")
            with Horizontal(classes="field"):
                yield Label(f"price ({unit})")
                yield Input(fmt_price(d.price, d.binary), id="price", type="number")
            with Horizontal(classes="field"):
                yield Label("size (shares)" if d.binary else "size (stake)")
                yield Input(f"{d.size:g}", id="size", type="number")
            yield PersistBox(id="persist")
            yield Label("", id="order-error")
            yield Label("enter: place · tab: next · space: persist on/off · esc: cancel", classes="hint")

    @on(Input.Submitted)
    def _submit(self, _event: Input.Submitted) -> None:
        self.action_place()

    def action_place(self) -> None:
        d = self.d
        try:
            runner_id = int(self.query_one("#runner", Input).value)
            price = float(self.query_one("#price", Input).value)
            size = float(self.query_one("#size", Input).value)
        except ValueError:
            self.query_one("#order-error", Label).update("runner, price and size must be numbers")
            return
        if runner_id not in {rid for rid, _ in d.runners}:
            self.query_one("#order-error", Label).update(f"no runner {runner_id} in this market")
            return
        if d.binary:
            price, size = int(price), int(size)
        persist = self.query_one("#persist", PersistBox).value
        self.dismiss(OrderTicket(d.market_id, runner_id, d.side, price, size, persist))

    def action_cancel(self) -> None:
        self.dismiss(None)


class SettleScreen(ModalScreen[list[int] | None]):
    """Pick the winner: a runner's number (1..9) or, for a binary market, y (YES) / n (NO)."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, market_id: int, runners: tuple[tuple[int, str], ...], binary: bool) -> None:
        super().__init__()
        self.market_id = market_id
        self.runners = runners
        self.binary = binary

    def compose(self) -> ComposeResult:
        with Vertical(id="settle-box", classes="modal"):
            yield Label(f"settle market {self.market_id}: who won?", id="settle-title")
            if self.binary:
                yield Label("y  YES won")
                yield Label("n  NO won")
            else:
                for i, (rid, label) in enumerate(self.runners[:9], start=1):
                    yield Label(f"{i}  {label} (id {rid})")
            yield Label("esc: cancel", classes="hint")

    def on_key(self, event: events.Key) -> None:
        ch = event.character or ""
        if self.binary and ch in ("y", "n"):
            event.stop()
            self.dismiss([self.runners[0][0]] if ch == "y" and self.runners else [])
        elif not self.binary and ch.isdigit() and 1 <= int(ch) <= min(9, len(self.runners)):
            event.stop()
            self.dismiss([self.runners[int(ch) - 1][0]])

    def action_cancel(self) -> None:
        self.dismiss(None)
