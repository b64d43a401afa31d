"""Data, not code: the C99 feature bridge (sources, CMake files, targets, golden vectors). This
file only lets the build ship the folder as `edgekit.firmware_bridge` (see edgekit/resources.py)."""
