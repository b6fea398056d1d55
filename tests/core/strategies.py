"""Hypothesis strategies for engine command streams (engine units: odds hundredths, cents, bps).

Prices are drawn a few ticks either side of a per-runner centre so that orders cross often; in
TWO_RUNNER markets the two centres are chosen so that 1/a + 1/b ≈ 1 (implied matching happens
both ways, rounding residue and dust included). A few accounts only, so self-trades are common.

Some fields cannot be known when a stream is drawn (who owns order 7, what time it is); they are
drawn as placeholders (`OWNER`, `Shift`, `Ago`, `LATEST`) that the test driver resolves just
before executing the command — see `resolve()`.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, NamedTuple

from hypothesis import strategies as st

from betex.core.domain import commands as C
from betex.core.domain.ladder import TICK_INDEX, TICKS

SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC

RUNNERS: dict[str, tuple[int, ...]] = {
    "MULTI_RUNNER": (11, 12, 13),
    "TWO_RUNNER": (21, 22),
    "BINARY_YES": (31,),
    "CROSS_MATCHED": (41, 42, 43, 44, 45, 46),  # a scenario takes the first 2..6 (`cross_runners`)
}
EXTRA_RUNNERS = (14, 15)  # ADD_RUNNERS targets (MULTI_RUNNER only)
ACCOUNTS = (1, 2, 3, 4)
BOOKS = tuple(RUNNERS)

# Centres (odds hundredths) per runner. TWO_RUNNER pairs satisfy 1/a + 1/b ≈ 1.
TWO_RUNNER_CENTRES = (
    (200, 200),
    (150, 300),
    (110, 1100),
    (101, 10000),
    (250, 166),
    (290, 150),
    (100000, 101),
)
MULTI_CENTRES = (101, 150, 200, 256, 1000, 100000)
BET_DELAYS_MS = (0, 0, 0, 1000, 5000)  # in-play bet delay of a scenario's IN_PLAY_CAPABLE market
BINARY_CENTRES = (5000, 3, 9997, 1234)


# ---------------------------------------------------------------------------------- placeholders


class _Owner:
    """The account owning the referenced order (or account 1 if the order does not exist)."""

    def __repr__(self) -> str:
        return "OWNER"


OWNER: Any = _Owner()


class _Latest:
    """The highest market id created so far."""

    def __repr__(self) -> str:
        return "LATEST"


LATEST: Any = _Latest()


class _Remaining:
    """The referenced order's remaining size now (0 if the order does not exist)."""

    def __repr__(self) -> str:
        return "REMAINING"


REMAINING: Any = _Remaining()


class Shift(NamedTuple):
    """A new price `ticks` ladder ticks (or bps) away from the referenced order's price."""

    ticks: int


class Recent(NamedTuple):
    """The order id `back` places ago (1 = the most recently accepted order)."""

    back: int


class Ago(NamedTuple):
    """An `after_ts` this many seconds before the current batch time."""

    seconds: int


def shift_price(price: int, ticks: int, binary: bool) -> int:
    if binary:
        return min(9999, max(1, price + ticks))
    i = min(len(TICKS) - 1, max(0, TICK_INDEX[price] + ticks))
    return TICKS[i]


def resolve(cmd: Any, engine: Any, ts: int) -> Any:
    """Replace placeholders with concrete values from the engine's current state."""
    fields = cmd._asdict() if hasattr(cmd, "_asdict") else None
    if fields is None:
        return cmd
    if fields.get("market_id") is LATEST:
        fields["market_id"] = max(engine.markets, default=1)
    order = None
    if isinstance(fields.get("order_id"), Recent):
        fields["order_id"] = max(1, engine.next_order_id - fields["order_id"].back)
    if "order_id" in fields and type(fields["order_id"]) is int:
        order = engine.orders.get(fields["order_id"])
    if fields.get("account_id") is OWNER:
        fields["account_id"] = order.account_id if order is not None else 1
    if isinstance(fields.get("new_price"), Shift):
        m = engine.markets.get(order.market_id) if order is not None else None
        if order is None or m is None:
            fields["new_price"] = 200
        else:
            fields["new_price"] = shift_price(order.price, fields["new_price"].ticks, m.is_binary)
    if isinstance(fields.get("after_ts"), Ago):
        fields["after_ts"] = ts - fields["after_ts"].seconds * SEC
    if isinstance(fields.get("placed_before_ts"), Ago):
        fields["placed_before_ts"] = ts - fields["placed_before_ts"].seconds * SEC
    if fields.get("expected_remaining") is REMAINING:
        fields["expected_remaining"] = order.remaining if order is not None else 0
    return type(cmd)(**fields)


# ---------------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    book: str
    market_kind: str
    market_phase: str
    runners: tuple[int, ...]
    steps: tuple[tuple[int, tuple[Any, ...]], ...]  # (dt ns, commands of one batch)
    bet_delay_ms: int = 0

    def create_command(self) -> C.CreateMarket:
        model = "BINARY_YES" if self.book == "BINARY_YES" else "EXCHANGE_ODDS"
        book_type = None if self.book == "BINARY_YES" else self.book
        return C.CreateMarket(
            "m", model, book_type, self.market_kind, "OPEN", self.market_phase, self.runners, (),
            bet_delay_ms=self.bet_delay_ms,
        )  # fmt: skip


def _centres(draw: Any, book: str, runners: tuple[int, ...] | None = None) -> dict[int, int]:
    """Per-runner centre ladder indexes; a CROSS_MATCHED market's `runners` (2..6) sit near the
    fair odds N, so complete books of backs or lays cross often and rings form."""
    if book == "CROSS_MATCHED":
        rs = runners or RUNNERS[book]
        fair = [p for p in TICKS if 80 * len(rs) <= p <= 130 * len(rs)]
        return {r: TICK_INDEX[draw(st.sampled_from(fair))] for r in rs}
    runners = RUNNERS[book]
    if book == "TWO_RUNNER":
        a, b = draw(st.sampled_from(TWO_RUNNER_CENTRES))
        return {runners[0]: TICK_INDEX[_on_ladder(a)], runners[1]: TICK_INDEX[_on_ladder(b)]}
    if book == "BINARY_YES":
        return {runners[0]: draw(st.sampled_from(BINARY_CENTRES))}
    centres = {r: TICK_INDEX[draw(st.sampled_from(MULTI_CENTRES))] for r in runners}
    for r in EXTRA_RUNNERS:
        centres[r] = centres[runners[0]]
    return centres


def _on_ladder(p: int) -> int:
    return min(TICKS, key=lambda t: abs(t - p))


def _price(draw: Any, book: str, centre: int) -> int:
    off = draw(st.integers(-3, 3))
    if book == "BINARY_YES":
        return min(9999, max(1, centre + off))
    return TICKS[min(len(TICKS) - 1, max(0, centre + off))]


def _size(draw: Any, book: str) -> int:
    if book == "BINARY_YES":
        return draw(st.integers(1, 30))
    return draw(
        st.one_of(
            st.sampled_from((100, 101, 102, 103, 150, 199, 200, 333, 1000)),
            st.integers(100, 2000),
            st.integers(100, 100_000),
        )
    )


def place_command(
    draw: Any,
    book: str,
    centres: dict[int, int],
    market: Any = 1,
    extra_runners: bool = False,
    fok_rate: float = 0.15,
    refs: bool = True,
) -> C.PlaceOrder:
    runners = tuple(centres) if book == "CROSS_MATCHED" else RUNNERS[book]
    if extra_runners and draw(st.integers(0, 19)) == 7:  # hypothesis favours 0
        runners = EXTRA_RUNNERS
    runner = draw(st.sampled_from(runners))
    sides = ("BUY", "SELL") if book == "BINARY_YES" else ("BACK", "LAY")
    side = draw(st.sampled_from(sides))
    price = _price(draw, book, centres[runner])
    size = _size(draw, book)
    account = draw(st.sampled_from(ACCOUNTS))
    persistence = draw(st.sampled_from(("LAPSE", "PERSIST")))
    fok = draw(st.integers(0, 99)) >= 100 - fok_rate * 100  # hypothesis favours 0
    tif = "FILL_OR_KILL" if fok else "GTC"
    min_fill = draw(st.one_of(st.just(0), st.integers(1, size))) if fok else 0
    ref = draw(st.sampled_from(("", "", "", "", "r1", "r2"))) if refs else ""
    return C.PlaceOrder(market, runner, side, price, size, account, persistence, tif, min_fill, ref)


def _order_id(draw: Any) -> Any:
    if draw(st.integers(0, 9)) == 5:
        return draw(st.integers(1, 60))
    return Recent(draw(st.integers(1, 8)))


def _cancel(draw: Any, book: str, market: Any = LATEST) -> C.CancelOrder:
    account = draw(st.sampled_from((OWNER,) * 6 + ACCOUNTS))
    cap = 30 if book == "BINARY_YES" else 2000
    red = draw(st.one_of(st.just(0), st.just(0), st.integers(1, cap)))
    return C.CancelOrder(market, _order_id(draw), account, red)


def _cancel_all(
    draw: Any, book: str, market: Any = LATEST, runners: tuple[int, ...] | None = None
) -> C.CancelAll:
    """CANCEL_ALL, half the time with some of its filters (runner, side, placed before a time)."""
    account = draw(st.sampled_from(ACCOUNTS))
    if draw(st.booleans()):
        return C.CancelAll(market, account)
    sides = ("BUY", "SELL") if book == "BINARY_YES" else ("BACK", "LAY")
    runner = draw(st.one_of(st.none(), st.sampled_from(runners or RUNNERS[book])))
    side = draw(st.one_of(st.none(), st.sampled_from(sides)))
    before = draw(st.one_of(st.none(), st.builds(Ago, st.integers(0, 10))))
    return C.CancelAll(market, account, 0, runner, side, before)


def _reduce(draw: Any, book: str, market: Any = LATEST) -> C.ReduceOrder:
    """REDUCE_ORDER: the expected remaining size is usually the real one (`REMAINING`)."""
    account = draw(st.sampled_from((OWNER,) * 6 + ACCOUNTS))
    cap = 30 if book == "BINARY_YES" else 2000
    expected = draw(st.one_of(st.just(REMAINING), st.just(REMAINING), st.integers(0, cap)))
    new = draw(st.one_of(st.just(0), st.integers(0, cap)))
    return C.ReduceOrder(market, _order_id(draw), account, expected, new)


def _replace(draw: Any, market: Any = LATEST) -> C.ReplaceOrder:
    account = draw(st.sampled_from((OWNER,) * 6 + ACCOUNTS))
    return C.ReplaceOrder(market, _order_id(draw), account, Shift(draw(st.integers(-3, 3))))


def _winners(draw: Any, book: str, runners: tuple[int, ...] | None = None) -> tuple[int, ...]:
    runners = runners or RUNNERS[book]
    if book == "BINARY_YES":
        return draw(st.sampled_from(((runners[0],), ())))
    chosen = draw(st.lists(st.sampled_from(runners), min_size=1, max_size=len(runners), unique=True))
    return tuple(chosen)


@st.composite
def _lifecycle_or_admin(draw: Any, book: str, runners: tuple[int, ...], kind: str) -> Any:
    market = draw(st.sampled_from((LATEST,) * 12 + (1, 2, 3)))
    which = draw(
        st.sampled_from(
            # index 0 is what hypothesis favours and shrinks towards: make it harmless
            ("resume",) * 8
            + ("limit",) * 6
            + ("golive",) * 5
            + ("new_market",) * 4
            + ("suspend",) * 3
            + ("await",) * 4
            + ("close",) * 2
            + ("close_settle",) * 2
            + ("settle",) * 3
            + ("void_trades",) * 4
            + ("void_after",) * 2
            + ("add_runners",) * 2
            + ("set_closed", "void_market", "bad_state")
            + ("halt",) * 2
        )
    )
    if which == "halt":
        return C.SetMarketState(market, "HALTED")
    if which == "suspend":
        return C.SetMarketState(market, "SUSPENDED")
    if which == "resume":
        return C.SetMarketState(market, "OPEN")
    if which == "set_closed":
        return C.SetMarketState(market, "CLOSED")
    if which == "bad_state":
        return C.SetMarketState(market, draw(st.sampled_from(("SETTLED", "VOIDED", "open", ""))))
    if which == "await":
        return C.AwaitLiveMarket(market)
    if which == "golive":
        return C.GoLiveMarket(market)
    if which == "close":
        return C.CloseMarket(market)
    if which == "close_settle":
        return (C.CloseMarket(market), C.SettleMarket(market, _winners(draw, book, runners)))
    if which == "settle":
        return C.SettleMarket(market, _winners(draw, book, runners))
    if which == "void_market":
        return C.VoidMarket(market)
    if which == "void_trades":
        ids = draw(st.lists(st.integers(1, 20), min_size=1, max_size=3))
        return C.VoidTrades(market, tuple(ids))
    if which == "void_after":
        return C.VoidTrades(market, (), Ago(draw(st.integers(0, 10))))
    if which == "limit":
        return C.SetAccountLimit(
            draw(st.sampled_from(ACCOUNTS)), draw(st.sampled_from((0, 100, 500, 2000, 100_000)))
        )
    if which == "new_market":
        model = "BINARY_YES" if book == "BINARY_YES" else "EXCHANGE_ODDS"
        book_type = None if book == "BINARY_YES" else book
        return C.CreateMarket("m", model, book_type, kind, "OPEN", "PRE", runners, ())
    # add_runners: only MULTI_RUNNER accepts it; elsewhere it must be rejected
    return C.AddRunners(market, (draw(st.sampled_from(EXTRA_RUNNERS)),), ())


@st.composite
def scenarios(draw: Any, book: str, max_batches: int = 40) -> Scenario:
    """A market of `book` type and a stream of batches of mixed commands against it. The driver opens
    a fresh market of the same type whenever the latest one is settled or voided. CROSS_MATCHED
    markets have 2..6 runners; an IN_PLAY_CAPABLE market may have an in-play bet delay."""
    runners = RUNNERS[book]
    if book == "CROSS_MATCHED":
        runners = runners[: draw(st.integers(2, len(runners)))]
    centres = _centres(draw, book, runners)
    kind, phase = draw(
        st.sampled_from(
            (
                ("IN_PLAY_CAPABLE", "PRE"),
                ("IN_PLAY_CAPABLE", "IN_PLAY"),
                ("PRE_ONLY", "PRE"),
                ("IN_PLAY_CAPABLE", "PRE"),
            )
        )
    )
    delay = draw(st.sampled_from(BET_DELAYS_MS)) if kind == "IN_PLAY_CAPABLE" else 0
    n = draw(st.integers(1, max_batches))
    steps = []
    for _ in range(n):
        dt = draw(st.sampled_from((0, 0, SEC, 2 * SEC, 5 * SEC, 60 * SEC, 61 * SEC)))
        cmds = []
        for _ in range(draw(st.sampled_from((1, 1, 1, 2, 3)))):
            what = draw(st.integers(0, 99))
            if what < 60:
                market = draw(st.sampled_from((LATEST,) * 19 + (1,)))
                cmds.append(place_command(draw, book, centres, market, extra_runners=book == "MULTI_RUNNER"))
            elif what < 72:
                cmds.append(_cancel(draw, book))
            elif what < 74:
                cmds.append(_cancel_all(draw, book, LATEST, runners))
            elif what < 76 and draw(st.booleans()):
                cmds.append(_reduce(draw, book))
            elif what < 81:
                cmds.append(_replace(draw))
            elif what < 97:
                got = draw(_lifecycle_or_admin(book, runners, kind))
                cmds.extend(got if isinstance(got, tuple) and not hasattr(got, "_fields") else (got,))
            else:
                cmds.append(draw(malformed_commands(book)))
        steps.append((dt, tuple(cmds)))
    return Scenario(book, kind, phase, runners, tuple(steps), delay)


@st.composite
def matching_streams(draw: Any, book: str, max_len: int = 40) -> tuple[dict[int, int], list[Any]]:
    """Place / cancel / cancel-all / replace only, in one OPEN market (market id 1)."""
    centres = _centres(draw, book)
    cmds: list[Any] = []
    for _ in range(draw(st.integers(1, max_len))):
        what = draw(st.integers(0, 99))
        if what < 70:
            cmds.append(place_command(draw, book, centres, 1, fok_rate=0.2, refs=False))
        elif what < 85:
            cmds.append(_cancel(draw, book, 1))
        elif what < 90:
            cmds.append(C.CancelAll(1, draw(st.sampled_from(ACCOUNTS))))
        else:
            cmds.append(_replace(draw, 1))
    return centres, cmds


# ---------------------------------------------------------------------------------- malformed

# Values that are invalid for a field whatever the other fields hold (floats and bools equal to a
# valid int included: 1.0 is not account 1, False is not runner 0).
JUNK_MARKET = (None, "1", 1.0, -1, 0, 999, 2**64, 2**200, True, (1,), [1])
JUNK_RUNNER = (None, "11", 11.0, -1, 999, 2**40, 2**200, True, (11,))
JUNK_SIDE_ODDS = (None, "back", "BUY", "SELL", "", 1, b"BACK", ("BACK",))
JUNK_SIDE_BINARY = (None, "buy", "BACK", "LAY", "", 1)
JUNK_ODDS = (None, "200", 2.0, 200.0, 0, -200, 100, 201, 1001, 100010, 2**70, True, float("nan"))
JUNK_BPS = (None, "5000", 5000.0, 0, 10000, -1, 2**70, True, float("inf"))
JUNK_SIZE_ODDS = (None, "100", 100.0, 0, -100, 99, 100_000_001, 10**20, True, 1.5)
JUNK_SIZE_BINARY = (None, "5", 5.0, 0, -1, 1_000_001, 10**20, True)
JUNK_ACCOUNT = (None, 0, -1, 2**32, 2**64, "1", 2.5, [1])
JUNK_PERSISTENCE = (None, "lapse", "", 1, "KEEP")
JUNK_TIF = (None, "FOK", "IOC", 0, "gtc")
JUNK_MIN_FILL = (-1, 10**12, 1.0, None, "1")
JUNK_REF = ("x" * 33, 5, None, b"ref", ["r"])
JUNK_ORDER = (None, 0, -1, 999_999, "1", 1.0, 2**70, True)
JUNK_REDUCTION = (-1, 1.5, "x", [1], -(2**70))
JUNK_STATE = (None, "open", "SETTLED", "VOIDED", 1, ["OPEN"], "")
JUNK_WINNERS = (None, "11", (999,), (11, 11), (11.0,), (True,), 5, (None,), ("11",), ([11],), ({11},))
JUNK_TRADE_IDS = (None, (999,), ("1",), (1.0,), 5, "abc", (), [None])
JUNK_AFTER = (1.5, "x", [1])
JUNK_NAME = ("", None, "x" * 201, 5)
JUNK_MODEL = (None, "BINARY", "exchange_odds", 1)
JUNK_RUNNER_IDS = (
    (),
    (1,),
    (1, 1),
    (-1, 2),
    (2**32, 1),
    ("1", 2),
    None,
    (1.5, 2),
    (True, 2),
    "12",
    (None, 1),
    (0.0, 1),
    (False, 1),
    (1.0, 2),
    ([1], 2),
)
JUNK_LABELS = ((1, 2), ("a",), ("a", "b", "c", "d"), "ab", ("x" * 201, "y"))
JUNK_LIMIT = (-1, 1.5, None, "5", -(2**70), 2**64, 2**200, True)
NOT_COMMANDS = (None, 5, "PLACE_ORDER", (1, 2, 3), {"type": "PLACE_ORDER"}, b"\x00", 1.5)

# The fixture the malformed commands are aimed at (built by `build_malformed_fixture` in the test):
# market 1 MULTI_RUNNER OPEN, 2 TWO_RUNNER OPEN, 3 BINARY_YES OPEN, 4 MULTI_RUNNER CLOSED (with a
# trade), 5 MULTI_RUNNER SUSPENDED; resting orders 1 (acct 1, m1), 2 (acct 2, m2), 3 (acct 3, m3).
FIXTURE_PLACES = {
    1: C.PlaceOrder(1, 11, "BACK", 200, 500, 1),
    2: C.PlaceOrder(2, 21, "LAY", 200, 500, 2),
    3: C.PlaceOrder(3, 31, "BUY", 5000, 10, 3),
}


def _lookalikes(account: int) -> tuple[Any, ...]:
    """Values == the owner's id that are not ints."""
    return (float(account), True) if account == 1 else (float(account),)


def well_typed(value: Any, hint: Any) -> bool:
    """Is `value` exactly of the declared type `hint` (bool is not int, 1.0 is not 1)? The parse
    layer guarantees this of every command it builds, so the domain is only fed such values."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(well_typed(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if typing.get_origin(hint) is tuple:
        (item, _dots) = typing.get_args(hint)
        return type(value) is tuple and all(well_typed(x, item) for x in value)
    return type(value) is hint


def _typed_junk(cls: type, junk: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    """The junk of the right type: value-level rejects are the domain's, type-level the parser's."""
    hints = typing.get_type_hints(cls)
    kept = {n: tuple(v for v in vals if well_typed(v, hints[n])) for n, vals in junk.items()}
    return {n: vals for n, vals in kept.items() if vals}


class _Pick:
    """Replace 1..2 fields of a valid command with well-typed junk for that field."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw

    def __call__(self, cmd: Any, junk: dict[str, tuple[Any, ...]]) -> Any:
        junk = _typed_junk(type(cmd), junk)
        names = self.draw(st.lists(st.sampled_from(sorted(junk)), min_size=1, max_size=2, unique=True))
        return cmd._replace(**{n: self.draw(st.sampled_from(junk[n])) for n in names})


@st.composite
def malformed_commands(draw: Any, book: str | None = None) -> Any:
    """A command that must be rejected, aimed at the malformed-command fixture (or any stream)."""
    pick = _Pick(draw)
    which = draw(
        st.sampled_from(
            ("place",) * 6
            + ("cancel",) * 3
            + (
                "cancel_all",
                "replace",
                "replace",
                "state",
                "settle",
                "void_trades",
                "create",
                "create",
                "add_runners",
                "limit",
                "lifecycle",
                "not_command",
            )
        )
    )
    if which == "place":
        base = FIXTURE_PLACES[draw(st.sampled_from((1, 2, 3)))]
        binary = base.market_id == 3
        junk = {
            "market_id": JUNK_MARKET,
            "runner_id": JUNK_RUNNER,
            "side": JUNK_SIDE_BINARY if binary else JUNK_SIDE_ODDS,
            "price": JUNK_BPS if binary else JUNK_ODDS,
            "size": JUNK_SIZE_BINARY if binary else JUNK_SIZE_ODDS,
            "account_id": JUNK_ACCOUNT,
            "persistence": JUNK_PERSISTENCE,
            "time_in_force": JUNK_TIF,
            "min_fill_size": JUNK_MIN_FILL,
            "client_ref": JUNK_REF,
        }
        return pick(base, junk)
    if which == "cancel":
        oid = draw(st.sampled_from((1, 2, 3)))
        base = C.CancelOrder(FIXTURE_PLACES[oid].market_id, oid, FIXTURE_PLACES[oid].account_id)
        wrong_owner = tuple(a for a in ACCOUNTS if a != base.account_id) + _lookalikes(base.account_id)
        return pick(
            base,
            {
                "market_id": JUNK_MARKET,
                "order_id": JUNK_ORDER,
                "account_id": JUNK_ACCOUNT + wrong_owner,
                "size_reduction": JUNK_REDUCTION,
            },
        )
    if which == "cancel_all":
        return pick(C.CancelAll(1, 1), {"market_id": JUNK_MARKET, "account_id": JUNK_ACCOUNT})
    if which == "replace":
        oid = draw(st.sampled_from((1, 2, 3)))
        p = FIXTURE_PLACES[oid]
        base = C.ReplaceOrder(p.market_id, oid, p.account_id, p.price)
        wrong_owner = tuple(a for a in ACCOUNTS if a != base.account_id) + _lookalikes(base.account_id)
        prices = JUNK_BPS if p.market_id == 3 else JUNK_ODDS
        return pick(
            base,
            {
                "market_id": JUNK_MARKET,
                "order_id": JUNK_ORDER,
                "account_id": JUNK_ACCOUNT + wrong_owner,
                "new_price": prices,
            },
        )
    if which == "state":
        return pick(C.SetMarketState(1, "SUSPENDED"), {"market_id": JUNK_MARKET, "market_state": JUNK_STATE})
    if which == "settle":
        return pick(C.SettleMarket(4, (11,)), {"market_id": JUNK_MARKET, "winner_runner_ids": JUNK_WINNERS})
    if which == "void_trades":
        if draw(st.booleans()):
            return pick(C.VoidTrades(4, (1,)), {"market_id": JUNK_MARKET, "trade_ids": JUNK_TRADE_IDS})
        return C.VoidTrades(draw(st.sampled_from((4, 999))), (1,), draw(st.sampled_from((0, T0))))
    if which == "create":
        base = C.CreateMarket(
            "m",
            "EXCHANGE_ODDS",
            draw(st.sampled_from(("MULTI_RUNNER", "TWO_RUNNER"))),
            "PRE_ONLY",
            "OPEN",
            "PRE",
            (1, 2),
            (),
        )
        return pick(
            base,
            {
                "name": JUNK_NAME,
                "market_model": JUNK_MODEL,
                "book_type": (None, "THREE_RUNNER", 2),
                "market_kind": (None, "LIVE", 0),
                "market_state": ("CLOSED", "SETTLED", None, "open"),
                "market_phase": ("IN_PLAY", "AWAITING_LIVE", None),
                "runner_ids": JUNK_RUNNER_IDS,
                "runner_labels": JUNK_LABELS,
            },
        )
    if which == "add_runners":
        base = C.AddRunners(1, (14,), ())
        return pick(
            base,
            {
                "market_id": JUNK_MARKET + (2, 3, 4),
                "runner_ids": JUNK_RUNNER_IDS[:1]
                + ((11,), (14, 14), (-1,), (2**32,), ("14",), None, (14.0,), (True,), (False,), (0.0,)),
                "runner_labels": ((1,), ("a", "b"), "a", ("x" * 201,)),
            },
        )
    if which == "limit":
        return pick(C.SetAccountLimit(1, 500), {"account_id": JUNK_ACCOUNT, "max_liability": JUNK_LIMIT})
    if which == "lifecycle":
        cls = draw(st.sampled_from((C.AwaitLiveMarket, C.GoLiveMarket, C.CloseMarket, C.VoidMarket)))
        return cls(draw(st.sampled_from(_typed_junk(cls, {"market_id": JUNK_MARKET})["market_id"])))
    return draw(st.sampled_from(NOT_COMMANDS))
