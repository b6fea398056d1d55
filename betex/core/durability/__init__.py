"""Durability: the event codec, the LMDB journal (WAL), snapshots, atomic writes and recovery."""
