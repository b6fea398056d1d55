"""The engine runtime: ingress ring, batch loop, wait strategies, metrics and GC policy."""
