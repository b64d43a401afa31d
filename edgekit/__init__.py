"""edgekit: wrist-worn sensor classifiers from data to device."""

__version__ = "0.1.0"
