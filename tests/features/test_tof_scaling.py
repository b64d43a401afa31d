"""The public CMI notebook's ToF scaling of passed-through pixels (no return -1 -> 10, 0 -> -10):
one definition (`spec.scale_tof_pixel`), computed identically by the Polars batch pipeline, the
Python streaming reference and the C bridge; off by default, so no existing spec changes hash."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from feature_synth import batch_by_sequence, demographics_for, frame_rows, handedness_by_sequence, make_cmi_frame, \
    reference_features

from edgekit.bridge import build

build.ensure_built()  # the C these tests exercise, rebuilt when its sources changed

from edgekit.bridge import Bridge, parity  # noqa: E402
from edgekit.data.cmi_schema import TOF_COLUMNS  # noqa: E402
from edgekit.errors import SpecError  # noqa: E402
from edgekit.features import FeatureSpec, compute_features  # noqa: E402
from edgekit.features.reference import StreamingFeatures  # noqa: E402
from edgekit.features.spec import RawPassthrough, scale_tof_pixel  # noqa: E402


def pixels_spec(scaling: bool) -> FeatureSpec:
    return FeatureSpec.cmi_default().with_families(raw=RawPassthrough(tof_pixels=True, tof_scaling=scaling))


def test_off_by_default_and_hash_stable():
    for spec in (FeatureSpec.cmi_default(), pixels_spec(False)):
        assert "tof_scaling" not in spec.to_dict()["families"]["raw"]
    assert FeatureSpec.from_dict(FeatureSpec.cmi_default().to_dict()) == FeatureSpec.cmi_default()
    on = pixels_spec(True)
    assert on.hash() != pixels_spec(False).hash() and on.names() == pixels_spec(False).names()
    again = FeatureSpec.from_json(on.to_json())
    assert again == on and again.hash() == on.hash()
    with pytest.raises(SpecError, match="tof_pixels"):
        FeatureSpec.cmi_default().with_families(raw=RawPassthrough(tof_pixels=False, tof_scaling=True))


def test_the_mapping():
    assert [scale_tof_pixel(v) for v in (-1.0, 0.0, 0.5, 17.0, 254.0)] == [10.0, -10.0, 0.5, 17.0, 254.0]
    spec = pixels_spec(True)
    sample = np.zeros(len(spec.input_columns()))
    sample[:7] = [0.0, 0.0, 9.8, 1.0, 0.0, 0.0, 0.0]
    tof = [spec.input_columns().index(c) for c in TOF_COLUMNS[:6]]
    sample[tof] = [-1.0, 0.0, 5.0, np.nan, 300.0, 254.0]  # NaN and out-of-range are missing, like -1
    out = dict(zip(spec.names(), StreamingFeatures(spec).push(sample)))
    assert [out[c] for c in TOF_COLUMNS[:6]] == [10.0, -10.0, 5.0, 10.0, 10.0, 254.0]


@pytest.fixture(scope="module")
def frame():
    """Random CMI rows with ToF zeros added (the random pixels rarely hit 0), one IMU-only
    sequence (null ToF) and a left-handed subject (mirrored, so pixels move)."""
    cmi = make_cmi_frame([40, 1, 25, 30], seed=4, imu_only=(2,))
    rng = np.random.default_rng(4)
    zero = pl.Series(rng.random(cmi.height) < 0.3)
    cmi = cmi.with_columns(pl.when(zero & (pl.col(c) >= 0)).then(0).otherwise(pl.col(c)).cast(pl.Int16).alias(c)
                           for c in TOF_COLUMNS[::3])
    demographics = demographics_for(cmi, left_subjects=("SUBJ_000",))
    return cmi, demographics, handedness_by_sequence(cmi, demographics)


def test_batch_equals_reference_and_scales_only_the_pixels(frame):
    cmi, demographics, hands = frame
    spec, plain = pixels_spec(True), pixels_spec(False)
    batch = batch_by_sequence(compute_features(cmi, spec, handedness=demographics), spec)
    unscaled = batch_by_sequence(compute_features(cmi, plain, handedness=demographics), plain)
    reference = reference_features(cmi, spec, hands)
    pixels = np.isin(spec.names(), spec.inputs.tof_columns())
    seen = set()
    for sid, ref in reference.items():
        np.testing.assert_allclose(batch[sid], ref, rtol=1e-6, atol=1e-6, err_msg=sid)
        np.testing.assert_array_equal(batch[sid][:, ~pixels], unscaled[sid][:, ~pixels])
        np.testing.assert_array_equal(batch[sid][:, pixels], np.vectorize(scale_tof_pixel)(unscaled[sid][:, pixels]))
        seen |= set(np.unique(unscaled[sid][:, pixels]).tolist()) & {-1.0, 0.0}
    assert seen == {-1.0, 0.0}, "the frame should hold both mapped values"


def test_c_equals_reference_and_batch(frame):
    cmi, demographics, hands = frame
    spec = replace(pixels_spec(True), mirror=True)
    batch = batch_by_sequence(compute_features(cmi, spec, handedness=demographics), spec)
    assert 0 in hands.values()
    pixels = [spec.names().index(p) for p in spec.inputs.tof_columns()]
    seen = set()
    for sid in batch:
        x = frame_rows(cmi, spec.input_columns(), sid).astype(np.float32)
        c = Bridge(spec, handedness=hands[sid]).push_block(x)
        ref = parity.reference_features(spec, x, hands[sid])
        slack = parity.perturbation_slack(spec, x, hands[sid], ref)
        report = parity.compare(spec, c, ref, slack)
        assert report.ok, f"{sid}: C != reference: {report.first_bad} ({report.n_bad} values)"
        vs_batch = parity.compare(spec, c, batch[sid], slack + 2e-6 * np.maximum(1.0, np.abs(batch[sid])))
        assert vs_batch.ok, f"{sid}: C != Polars batch: {vs_batch.first_bad}"
        seen |= set(np.unique(c[:, pixels]).tolist())
    assert {10.0, -10.0} <= seen
