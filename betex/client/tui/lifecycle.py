"""Which market keys make sense now, and what to press instead when one does not (pure).

domain.md §2's state machine seen from the keyboard: `refusal(action, market)` is None when the
action can succeed from the market's known state/phase, else a sentence naming what the action
needs and the next valid step ("go live needs AWAITING_LIVE: press a first"). The app refuses
such keys locally, the footer lists only the keys that pass, and a server `INVALID_TRANSITION`
(the state moved under us) gets the same hint appended.
"""

from __future__ import annotations

from dataclasses import dataclass

FINAL = ("SETTLED", "VOIDED")
LIVE = ("OPEN", "SUSPENDED", "HALTED")

ACTIONS = ("suspend", "await", "golive", "close", "settle", "void", "order")
COMMAND_ACTION = {
    "AWAIT_LIVE_MARKET": "await",
    "GO_LIVE_MARKET": "golive",
    "CLOSE_MARKET": "close",
    "SETTLE_MARKET": "settle",
    "VOID_MARKET": "void",
    "SET_MARKET_STATE": "suspend",
}


@dataclass(frozen=True, slots=True)
class MarketLife:
    """What the lifecycle needs to know about a market."""

    state: str
    phase: str
    in_play_capable: bool = True


def _final(state: str) -> str:
    return f"market is {state}: nothing more to do (1/2/3 create another)"


def refusal(action: str, mk: MarketLife) -> str | None:
    """None if `action` is valid for `mk`, else why not and what to press instead."""
    st, ph = mk.state, mk.phase
    if action == "void":
        return _final(st) if st in FINAL else None
    if st in FINAL:
        return _final(st)
    if action == "settle":
        if st == "CLOSED":
            return None
        return "settle needs CLOSED: press c first"
    if st == "CLOSED":
        return {
            "order": "market is CLOSED: no more trading; press w to settle",
            "suspend": "market is CLOSED: press w to settle (or v to void)",
            "close": "already CLOSED: press w to settle",
        }.get(action, "market is CLOSED: press w to settle (or v to void)")
    if action == "close":
        return None
    if action == "suspend":
        return None  # OPEN ↔ SUSPENDED, HALTED → OPEN
    if action == "order":
        if st == "OPEN":
            return None
        return f"market is {st}: orders are rejected; press s to resume" + (
            " (or g to go live)" if ph == "AWAITING_LIVE" else ""
        )
    if action == "await":
        if not mk.in_play_capable:
            return "await live needs an IN_PLAY_CAPABLE market (this one is PRE_ONLY): press c to close"
        if ph == "AWAITING_LIVE":
            return "already AWAITING_LIVE: press g to go live"
        if ph != "PRE":
            return f"await live only from PRE (phase is {ph}): press c to close"
        return None
    if action == "golive":
        if ph == "AWAITING_LIVE":
            return None
        if ph == "IN_PLAY":
            return "already IN_PLAY: press c to close"
        if not mk.in_play_capable:
            return "go live needs an IN_PLAY_CAPABLE market (this one is PRE_ONLY): press c to close"
        return "go live needs AWAITING_LIVE: press a first"
    return None


def valid_actions(mk: MarketLife | None) -> tuple[str, ...]:
    """The actions the footer offers for `mk` (none without a market)."""
    if mk is None:
        return ()
    return tuple(a for a in ACTIONS if refusal(a, mk) is None)
