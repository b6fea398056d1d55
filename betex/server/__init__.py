"""The HTTP + WebSocket gateway: `betex serve` (aiohttp), over the core's runtime and read model."""
