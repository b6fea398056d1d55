"""`python -m betex`: the same entry point as the `betex` command."""

from betex.cli.app import main

main()
