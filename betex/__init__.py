"""betex: a betting-exchange toolkit (engine, WAL, projection, server, TUI, bots)."""

__version__ = "0.1.0"
