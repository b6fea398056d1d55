"""The one core package every subcommand shares, split by concern (docs/architecture.md).

domain (pure) ← durability ← runtime; domain ← readmodel ← protocol; ops uses durability and
readmodel. The import contracts in pyproject.toml keep the arrows pointing that way.
"""
