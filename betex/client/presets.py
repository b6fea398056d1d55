"""Market presets for `--create` and the TUI's control pane."""

from __future__ import annotations

from typing import Any

from . import messages as m

PRESETS: dict[str, dict[str, Any]] = {
    "soccer": {
        "name": "Home v Away",
        "market_model": "EXCHANGE_ODDS",
        "book_type": "CROSS_MATCHED",  # direct and ring matching over Home/Draw/Away (domain.md §7)
        "market_kind": "IN_PLAY_CAPABLE",
        "runner_ids": [1, 2, 3],
        "runner_labels": ["Home", "Draw", "Away"],
    },
    "tennis": {
        "name": "Player A v Player B",
        "market_model": "EXCHANGE_ODDS",
        "book_type": "TWO_RUNNER",
        "market_kind": "PRE_ONLY",
        "runner_ids": [1, 2],
        "runner_labels": ["Player A", "Player B"],
    },
    "binary": {
        "name": "Will it happen?",
        "market_model": "BINARY_YES",
        "market_kind": "PRE_ONLY",
        "runner_ids": [1],
        "runner_labels": ["YES"],
    },
}
"""CREATE_MARKET bodies without correlation_id; state OPEN and phase PRE are added."""


def preset_message(preset_or_spec: str | dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """A CREATE_MARKET ClientMsg from a preset name or a body dict; raises KeyError for unknown names."""
    if isinstance(preset_or_spec, str):
        if preset_or_spec not in PRESETS:
            raise KeyError(f"unknown preset {preset_or_spec!r} (choose from {', '.join(PRESETS)})")
        spec = dict(PRESETS[preset_or_spec])
    else:
        spec = dict(preset_or_spec)
    if name is not None:
        spec["name"] = name
    return m.create_market(
        spec.pop("name"),
        spec.pop("market_model"),
        spec.pop("runner_ids"),
        spec.pop("runner_labels", None),
        **spec,
    )
