"""`SimConfig`: every knob of the wrist simulator, with defaults that mimic the CMI competition data.

The fault fractions are the ones measured on the real files (see FIELD_NOTES.md), except the
IMU-only fraction, which follows the hidden test set (about half IMU-only) rather than the
train set, so that models trained on simulator data learn to live without the proximity sensors.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.data import cmi_schema as cs
from edgekit.errors import EdgekitError


@dataclass(frozen=True)
class SimConfig:
    sample_period_s: float = cs.SIM_SAMPLE_PERIOD_S
    # subjects: n_subjects wins when given; otherwise round(n_sequences / sequences_per_subject)
    # (the competition has 8,151 sequences from 81 subjects, about 100 each)
    n_subjects: int | None = None
    sequences_per_subject: float = 100.0
    left_handed_fraction: float = 0.12
    # sequence lengths in rows (log-normal, clipped), as in the competition: 29..700, mean ~70
    median_length: float = 58.0
    length_sigma: float = 0.5
    min_length: int = 29
    max_length: int = 700
    # faults
    imu_only_fraction: float = 0.4  # whole sequences with every thermopile and ToF cell null
    rot_dropout_fraction: float = 0.006  # rows whose quaternion is null, in short bursts
    thm5_missing_fraction: float = 0.06  # sensor-bearing sequences whose thm_5 is null throughout
    tof_pixel_dropout: float = 0.03  # random extra "no return" pixels (weak echoes, sunlight)
    quat_hemisphere_fraction: float = 0.3  # sequences whose IMU reports w >= 0 (sign flips q -> -q)
    # sensor noise
    acc_noise_m_s2: float = 0.05
    rot_noise: float = 0.002
    thm_noise_c: float = 0.08
    tof_noise_mm: float = 2.0
    # scales every per-subject and per-sequence jitter of the motion programs (0 = stereotyped
    # gestures, trivially separable; 1 = the calibrated default; >1 = harder)
    motion_variability: float = 1.0

    def __post_init__(self) -> None:
        fractions = (
            "left_handed_fraction",
            "imu_only_fraction",
            "rot_dropout_fraction",
            "thm5_missing_fraction",
            "tof_pixel_dropout",
            "quat_hemisphere_fraction",
        )
        for name in fractions:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise EdgekitError(f"SimConfig.{name}={value!r}; expected a fraction in [0, 1]")
        non_negative = ("acc_noise_m_s2", "rot_noise", "thm_noise_c", "tof_noise_mm", "motion_variability")
        for name in non_negative:
            if getattr(self, name) < 0:
                raise EdgekitError(f"SimConfig.{name}={getattr(self, name)!r}; expected a value >= 0")
        if not self.sample_period_s > 0:
            raise EdgekitError(f"SimConfig.sample_period_s={self.sample_period_s!r}; expected a positive period")
        if not 29 <= self.min_length <= self.max_length:
            raise EdgekitError(
                f"SimConfig.min_length={self.min_length}, max_length={self.max_length}; "
                "expected 29 <= min_length <= max_length (shorter sequences cannot hold the three phases)"
            )
        if not self.median_length > 0 or self.length_sigma < 0:
            raise EdgekitError(
                f"SimConfig.median_length={self.median_length!r}, length_sigma={self.length_sigma!r}; "
                "expected a positive median and a non-negative sigma"
            )
        if self.n_subjects is not None and self.n_subjects < 1:
            raise EdgekitError(f"SimConfig.n_subjects={self.n_subjects!r}; expected at least 1 (or None)")
        if not self.sequences_per_subject > 0:
            raise EdgekitError(
                f"SimConfig.sequences_per_subject={self.sequences_per_subject!r}; expected a positive number"
            )

    def subjects_for(self, n_sequences: int) -> int:
        if self.n_subjects is not None:
            return min(self.n_subjects, n_sequences)
        return max(1, min(n_sequences, round(n_sequences / self.sequences_per_subject)))
