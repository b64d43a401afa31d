"""Causal features: `FeatureSpec` (the single source of truth: ordered names, parameters, a
stable hash), the Polars batch pipeline, the pure-Python streaming reference the C bridge
transcribes, handedness mirroring and per-sequence aggregates for tabular baselines."""

from edgekit.features.aggregates import DEFAULT_STATS, sequence_aggregates
from edgekit.features.batch import compute_features, features_for_dataset
from edgekit.features.mirror import MirrorPlan, mirror_frame, mirror_plan, mirror_sample
from edgekit.features.presets import PRESETS, resolve_spec
from edgekit.features.reference import StreamingFeatures
from edgekit.features.spec import (
    BandPower,
    Correlation,
    Families,
    FeatureSpec,
    InputSpec,
    Jerk,
    NanPolicy,
    RawPassthrough,
    RollingStat,
    RollingStats,
    Spectrum,
    Stationarity,
    Tilt,
    TiltSource,
    WindowedChannels,
    default_families,
)

__all__ = [
    "BandPower", "Correlation", "DEFAULT_STATS", "Families", "FeatureSpec", "InputSpec", "Jerk", "MirrorPlan",
    "NanPolicy", "RawPassthrough", "RollingStat", "RollingStats", "Spectrum", "Stationarity", "StreamingFeatures",
    "Tilt", "TiltSource", "WindowedChannels", "compute_features", "default_families", "features_for_dataset",
    "mirror_frame", "mirror_plan", "mirror_sample", "PRESETS", "resolve_spec", "sequence_aggregates",
]
