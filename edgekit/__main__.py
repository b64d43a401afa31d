"""`python -m edgekit` (and `torchrun -m edgekit train ...`) runs the CLI."""

from edgekit.cli import main

main()
