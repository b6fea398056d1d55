"""What every server process writes for its operator: status lines on stdout, logs on stderr.

One home for the serve, gateway, engine and history-writer processes. Small on purpose: the
engine and history-writer processes import it without the HTTP stack.
"""

from __future__ import annotations

import logging
import sys

from .config import ServerConfig


def say(message: str) -> None:
    """Operator-facing lines on stdout (the test fixture and humans read them), flushed at once."""
    print(message, flush=True)


def logging_setup(config: ServerConfig) -> None:
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
