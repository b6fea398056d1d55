"""`betex tui`: a live trading terminal (Textual) over one `/ws_ctl` connection.

- `state.UiState`: everything shown, changed only by updates and navigation (pure).
- `session.Session`: the network side (connection, user + droppable bot channels, polling).
- `views`: pure renderers from state to Rich; `widgets`/`screens`: dumb Textual pieces.
- `app.BetexTui`: keys → commands, updates → state → panes.
"""

from __future__ import annotations

from .app import BetexTui
from .config import DEFAULT_TUI_URL, TuiConfig, split_bots
from .state import UiState

__all__ = ["DEFAULT_TUI_URL", "BetexTui", "TuiConfig", "UiState", "split_bots"]
