"""Data, not code: training recipes (TOML). This file only lets the build ship the folder as
`edgekit.recipes` (see edgekit/resources.py); list and copy them with `edgekit recipes`."""
