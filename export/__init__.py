"""Data, not code: export target profiles (TOML). This file only lets the build ship the folder as
`edgekit.export_profiles` (see edgekit/resources.py)."""
