"""The pure, deterministic heart of betex: commands in, events out, state rebuilt from events.

Nothing here imports an I/O framework; LMDB is confined to `journal.py`.
"""
