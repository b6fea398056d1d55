"""Man pages (troff) generated from the CLI itself: ``python -m betex.cli.manpages man``.

Walks the command tree Typer builds and writes ``betex.1`` plus one page per group and command
(``betex-wal-inspect.1`` …), so help text, flags, defaults and env vars live in one place; the
EXAMPLES section comes from `betex/cli/examples.py`, which also ends each command's `--help`. Output
is deterministic (no dates, no environment-dependent defaults): `tests/cli/test_manpages.py`
regenerates into a temp dir and fails when the committed pages differ. Re-run `make man` after
any CLI change.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_VARS = ("BETEX_DATA_DIR", "BETEX_ADMIN_TOKEN")
"""Cleared before the CLI is imported: defaults shown in the pages must not depend on them."""
SECTION = "1"
MANUAL = "betex manual"

EXIT_STATUS = (
    ("0", "Success."),
    ("1", "Unexpected error (one line on stderr; --debug shows the traceback)."),
    ("2", "Usage error: bad or conflicting arguments."),
    ("3", "The WAL is locked by another writer (a running server)."),
    ("4", "The WAL is damaged (the first bad seq is printed)."),
    ("5", "The server is unreachable."),
    ("6", "The server refused a command (a typed reject; its code and message are printed)."),
)


@dataclass(frozen=True)
class Node:
    """One command or group, with its path from the root (``("wal", "inspect")``)."""

    path: tuple[str, ...]
    command: Any
    ctx: Any
    children: tuple[str, ...]

    @property
    def page(self) -> str:
        return "-".join(("betex", *self.path))

    @property
    def title(self) -> str:
        return " ".join(("betex", *self.path))


def walk() -> Iterator[Node]:
    """Every node of the `betex` command tree, parents before children, in registration order."""
    import typer.main
    from typer import _click as click

    from betex.cli.app import app

    root = typer.main.get_command(app)

    def visit(cmd: Any, ctx: Any, path: tuple[str, ...]) -> Iterator[Node]:
        names = tuple(cmd.list_commands(ctx)) if hasattr(cmd, "list_commands") else ()
        yield Node(path, cmd, ctx, names)
        for name in names:
            sub = cmd.get_command(ctx, name)
            if sub is None or getattr(sub, "hidden", False):
                continue
            yield from visit(sub, click.Context(sub, info_name=name, parent=ctx), (*path, name))

    yield from visit(root, click.Context(root, info_name="betex"), ())


def esc(text: str) -> str:
    """Escape text for troff: backslashes, hyphens, and control characters at a line start."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    lines = [("\\&" + line) if line.startswith((".", "'")) else line for line in out.split("\n")]
    return "\n".join(lines)


def _first_line(text: str | None) -> str:
    text = (text or "").strip()
    return text.split("\n", 1)[0].rstrip(".") if text else ""


def _option_label(spec: str) -> str:
    """``-f, --follow`` → bold names; a metavar (``<int range>``) → one italic group."""
    parts: list[str] = []
    meta: list[str] = []

    def flush() -> None:
        if meta:
            parts.append(f"\\fI{esc(' '.join(meta))}\\fR")
            meta.clear()

    for token in spec.split(" "):
        if token.startswith("-"):
            flush()
            name, comma = (token[:-1], ",") if token.endswith(",") else (token, "")
            parts.append(f"\\fB{esc(name)}\\fR{comma}")
        elif token == "/":
            flush()
            parts.append("/")
        elif token:
            meta.append(token)
    flush()
    return " ".join(parts)


def _synopsis(node: Node) -> list[str]:
    words = [f".B {esc(node.title)}"]
    params = [p for p in node.command.get_params(node.ctx) if p.name != "help"]
    if any(p.param_type_name == "option" for p in params):
        words.append("[\\fIOPTIONS\\fR]")
    for p in params:
        if p.param_type_name == "argument":
            name = f"\\fI{esc(p.name.upper())}\\fR"
            words.append(name if p.required else f"[{name}]")
    if node.children:
        words.append("\\fICOMMAND\\fR [\\fIARGS\\fR]...")
    return words


def render(node: Node, all_nodes: list[Node]) -> str:
    from betex import __version__

    cmd, ctx = node.command, node.ctx
    lines = [
        f'.TH "{node.page.upper()}" "{SECTION}" "" "betex {__version__}" "{MANUAL}"',
        ".SH NAME",
        f"{esc(node.page)} \\- {esc(_first_line(cmd.help) or node.title)}",
        ".SH SYNOPSIS",
        *_synopsis(node),
    ]
    if cmd.help:
        lines.append(".SH DESCRIPTION")
        for para in cmd.help.strip().split("\n\n"):
            lines += [esc(" ".join(para.split())), ".PP"]
        lines.pop()
    args = [p for p in cmd.get_params(ctx) if p.param_type_name == "argument"]
    if args:
        lines.append(".SH ARGUMENTS")
        for p in args:
            record = p.get_help_record(ctx)
            lines += [".TP", f"\\fI{esc(p.name.upper())}\\fR", esc(record[1] if record else "")]
    options = [p for p in cmd.get_params(ctx) if p.param_type_name == "option" and not p.hidden]
    if options:
        lines.append(".SH OPTIONS")
        for p in options:
            record = p.get_help_record(ctx)
            if record is None:
                continue
            lines += [".TP", _option_label(record[0]), esc(record[1] or "")]
    if node.children:
        lines.append(".SH COMMANDS")
        for name in node.children:
            sub = cmd.get_command(ctx, name)
            lines += [
                ".TP",
                f"\\fB{esc(name)}\\fR",
                esc(_first_line(sub.help)) + f". See \\fB{esc(node.page)}\\-{esc(name)}\\fR(1).",
            ]
    lines += _examples(node)
    if not node.path:
        lines += _root_extras()
    lines.append(".SH EXIT STATUS")
    for code, meaning in EXIT_STATUS:
        lines += [".TP", f"\\fB{code}\\fR", esc(meaning)]
    lines += [".SH SEE ALSO", _see_also(node, all_nodes)]
    return "\n".join(lines) + "\n"


def _examples(node: Node) -> list[str]:
    """EXAMPLES: each purpose as a paragraph, the command line bold and unfilled below it."""
    from betex.cli.examples import EXAMPLES

    lines = [".SH EXAMPLES"]
    for purpose, command in EXAMPLES.get(" ".join(node.path), ()):
        lines += [".PP", esc(purpose) + ":", ".PP", ".nf", ".RS 4", f"\\fB{esc(command)}\\fR", ".RE", ".fi"]
    return lines if len(lines) > 1 else []


def _root_extras() -> list[str]:
    return [
        ".SH ENVIRONMENT",
        ".TP",
        "\\fBBETEX_DATA_DIR\\fR",
        esc("Default for --data-dir (otherwise ./betex-data)."),
        ".SH FILES",
        ".TP",
        "\\fIDATA_DIR/wal/\\fR",
        esc("The write-ahead log (an LMDB environment) and writer.lock, the single-writer flock."),
        ".TP",
        "\\fIDATA_DIR/snapshots/\\fR",
        esc("Engine snapshots, engine-<seq>-<crc32>.snap."),
        ".TP",
        "\\fIDATA_DIR/projection.snap\\fR",
        esc("The projection's disk snapshot, written on a clean stop and by `betex projection rebuild`."),
        ".SH NOTES",
        esc(
            "The writer lock is an advisory flock on a local disk; it is not fencing on NFS, SMB or other "
            "shared volumes. See docs/operations.md for the operator toolkit and recipes."
        ),
    ]


def _see_also(node: Node, all_nodes: list[Node]) -> str:
    related = []
    for other in all_nodes:
        if other is node:
            continue
        is_parent = other.path == node.path[:-1]
        is_child = other.path[:-1] == node.path
        if (is_parent or is_child) and other.page not in related:
            related.append(other.page)
    if "betex" not in related and node.path:
        related.insert(0, "betex")
    return ",\n".join(f"\\fB{esc(page)}\\fR({SECTION})" for page in related)


def generate(out_dir: Path) -> list[Path]:
    """Write every page into `out_dir` and delete stale ``betex*.1`` pages there; returns the pages."""
    out_dir.mkdir(parents=True, exist_ok=True)
    nodes = list(walk())
    written = []
    for node in nodes:
        path = out_dir / f"{node.page}.{SECTION}"
        text = render(node, nodes)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    for stale in set(out_dir.glob(f"betex*.{SECTION}")) - set(written):
        stale.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m betex.cli.manpages OUT_DIR", file=sys.stderr)
        return 2
    for var in ENV_VARS:
        os.environ.pop(var, None)
    pages = generate(Path(args[0]))
    print(f"wrote {len(pages)} man pages to {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
