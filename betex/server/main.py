"""Which process `betex serve` / `betex gateway` runs: in-process server, supervisor, or gateway."""

from __future__ import annotations

from .config import ServerConfig


def main(config: ServerConfig) -> int:
    """The exit status. `engine_socket` set: a gateway; else `gateways` > 0: the supervisor of an
    engine process and that many gateways; else everything in this process (`run.py`)."""
    if config.engine_socket is not None:
        from .console import logging_setup
        from .gateway import serve_gateway
        from .run import run_loop

        logging_setup(config)
        return run_loop(serve_gateway(config))
    if config.gateways > 0:
        from .supervisor import supervise

        return supervise(config)
    from .run import run

    return run(config)
