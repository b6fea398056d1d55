"""Thin Typer layer: parse, call betex.core / betex.server / betex.client, print, map exit codes."""
