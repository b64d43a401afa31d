"""C bridge (through the binding) = Polars batch = Python streaming reference.

Tolerance (edgekit/bridge/parity.py): |c - ref| <= 1e-5 * max(1, |ref|) + slack, where slack is
the float64 reference's own movement under one-ulp float32 perturbations of its inputs (x8), with
a floor of 4 u S / dt for backward differences. Well-conditioned features get ~0 slack; the
tests also bound how many values need any slack at all, so a widening tolerance cannot hide
a regression. Every stream is also fed in chunks of 1, 2, 3, 7 and 64 samples with canary words
behind the state, the workspace, the input and the output, and must give identical bits.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from edgekit.bridge import Bridge, parity
from edgekit.bridge.binding import CConfig, ffi, lib
from edgekit.bridge.config import bridge_config
from edgekit.bridge.golden import frame_samples, kitchen_sink_spec
from edgekit.features import FeatureSpec, compute_features

CHUNKS = (1, 2, 3, 7, 64)
CANARY = 0xC0FFEE11
N_CANARY = 8
MAX_SLACK_SHARE = 0.02  # at most 2 % of values may need more than the plain 1e-5 relative


def sequences(sim, spec: FeatureSpec):
    hand = dict(zip(sim.demographics["subject"].to_list(), sim.demographics["handedness"].to_list()))
    frame = sim.train.sort("sequence_id", "sequence_counter")
    for (sid,), part in frame.group_by("sequence_id", maintain_order=True):
        yield sid, int(hand[part["subject"][0]]), frame_samples(part, spec)


def assert_parity(spec: FeatureSpec, x: np.ndarray, hand: int, c: np.ndarray, label: str,
                  batch: np.ndarray | None = None) -> parity.ParityReport:
    ref = parity.reference_features(spec, x, hand)
    slack = parity.perturbation_slack(spec, x, hand, ref)
    assert np.isfinite(c).all(), f"{label}: non-finite C features"
    report = parity.compare(spec, c, ref, slack)
    assert report.ok, f"{label}: C != reference: {report.first_bad} ({report.n_bad} values)"
    if batch is not None:
        vs_batch = parity.compare(spec, c, batch, slack + 2e-6 * np.maximum(1.0, np.abs(batch)))
        assert vs_batch.ok, f"{label}: C != Polars batch: {vs_batch.first_bad}"
    return report


def test_simulator_c_equals_reference_and_batch(simulated):
    spec = FeatureSpec.cmi_default()
    frame = simulated.train.with_columns(pl.col(c).cast(pl.Float32) for c in spec.input_columns())
    batch = compute_features(frame, spec, handedness=simulated.demographics.select("subject", "handedness"))
    by_sequence = {k[0]: part.select(spec.names()).to_numpy().astype(np.float64)
                   for k, part in batch.partition_by("sequence_id", as_dict=True, maintain_order=True).items()}
    seen = {"left": 0, "imu_only": 0, "nan_rot": 0}
    values = needing_slack = 0
    for sid, hand, x in sequences(simulated, spec):
        seen["left"] += hand == 0
        seen["imu_only"] += bool(np.isnan(x[:, 7]).all())
        seen["nan_rot"] += bool(np.isnan(x[:, 3]).any())
        c = Bridge(spec, handedness=hand).push_block(x)
        report = assert_parity(spec, x, hand, c, sid, by_sequence[sid])
        values += report.n_values
        needing_slack += report.n_needing_slack
    assert all(v > 0 for v in seen.values()), f"the simulator streams miss a fault: {seen}"
    assert needing_slack <= MAX_SLACK_SHARE * values, f"{needing_slack} of {values} values needed slack"


def test_kitchen_sink_spec_on_simulator(simulated):
    """Every family and option (rot + gyro, raw ToF pixels, extras, rolling min, >8 DFT bins)."""
    spec = kitchen_sink_spec()
    rng = np.random.default_rng(5)
    for sid, hand, _ in list(sequences(simulated, FeatureSpec.cmi_default()))[:6]:
        part = simulated.train.filter(pl.col("sequence_id") == sid).sort("sequence_counter")
        n = part.height
        extra = {"gyro_x": rng.normal(0, 1, n), "gyro_y": np.sin(np.arange(n) / 4), "gyro_z": rng.normal(0, 0.3, n),
                 "counter_f": np.arange(n, dtype=float)}
        x = frame_samples(part, spec, extra)
        assert_parity(spec, x, hand, Bridge(spec, handedness=hand).push_block(x), f"kitchen {sid}")


def test_uci_har_real_streams(uci_streams):
    """Real recordings (3,000 samples = 60 s of two test subjects each), C = reference = batch."""
    spec = FeatureSpec.uci_har_default()
    for subject, stream in uci_streams.items():
        x = stream[:3000]
        c = Bridge(spec).push_block(x)
        frame = pl.DataFrame({name: x[:, j] for j, name in enumerate(spec.input_columns())}).with_columns(
            sequence_id=pl.lit(f"subject_{subject}"), sequence_counter=pl.int_range(pl.len()))
        batch = compute_features(frame, spec).select(spec.names()).to_numpy().astype(np.float64)
        report = assert_parity(spec, x, 1, c, f"UCI-HAR subject {subject}", batch)
        assert report.n_needing_slack <= MAX_SLACK_SHARE * report.n_values
        for chunk in CHUNKS:
            assert np.array_equal(push_with_canaries(spec, 1, x[:400], chunk), c[:400]), f"chunk {chunk}"


def push_with_canaries(spec: FeatureSpec, hand: int, x: np.ndarray, chunk: int) -> np.ndarray:
    """ek_bridge_push_block in chunks, with canaries behind every buffer the C touches."""
    cfg = CConfig(bridge_config(spec))
    n_in, n_out = cfg.bc.n_inputs, cfg.bc.n_features
    words = int(lib.ek_bridge_workspace_words(cfg.ptr))
    ws = ffi.new("ek_word_t[]", words + N_CANARY)
    state_size = ffi.sizeof("ek_bridge_t")
    state_buf = ffi.new("uint32_t[]", state_size // 4 + N_CANARY)
    canaries = [(ws, words), (state_buf, state_size // 4)]
    for buf, at in canaries:
        for k in range(N_CANARY):
            if buf is ws:
                buf[at + k].u = CANARY
            else:
                buf[at + k] = CANARY
    state = ffi.cast("ek_bridge_t *", state_buf)
    assert lib.ek_bridge_init(state, cfg.ptr, hand, ws, words * 4) == 0
    out = np.empty((len(x), n_out), np.float32)
    for t0 in range(0, len(x), chunk):
        block = np.ascontiguousarray(x[t0:t0 + chunk], np.float32)
        m = len(block)
        in_buf = np.full(m * n_in + N_CANARY, np.nan, np.float32)
        in_buf[:m * n_in] = block.ravel()
        out_buf = np.zeros(m * n_out + N_CANARY, np.uint32)
        out_buf[m * n_out:] = CANARY
        lib.ek_bridge_push_block(state, ffi.from_buffer("float[]", in_buf), m,
                                 ffi.cast("float *", ffi.from_buffer(out_buf)))
        assert (out_buf[m * n_out:] == CANARY).all(), f"output canary overwritten (chunk {chunk}, t {t0})"
        assert np.array_equal(in_buf[:m * n_in], block.ravel(), equal_nan=True), "input was modified"
        for buf, at in canaries:
            got = [buf[at + k].u if buf is ws else buf[at + k] for k in range(N_CANARY)]
            assert got == [CANARY] * N_CANARY, f"canary behind {'workspace' if buf is ws else 'state'} overwritten"
        out[t0:t0 + m] = out_buf[:m * n_out].view(np.float32).reshape(m, n_out)
    return out


@pytest.mark.parametrize("chunk", CHUNKS)
def test_chunks_carry_state_and_keep_canaries(simulated, chunk):
    spec = FeatureSpec.cmi_default()
    for sid, hand, x in list(sequences(simulated, spec))[:8]:
        whole = Bridge(spec, handedness=hand).push_block(x)
        chunked = push_with_canaries(spec, hand, x, chunk)
        assert np.array_equal(whole, chunked, equal_nan=True), f"{sid}: chunk {chunk} changes the features"


def test_push_equals_block_and_reset_forgets(simulated):
    spec = FeatureSpec.cmi_default()
    (_, hand, x), (_, _, y) = list(sequences(simulated, spec))[:2]
    bridge = Bridge(spec, handedness=hand)
    one_by_one = np.stack([bridge.push(row) for row in x])
    assert np.array_equal(one_by_one, Bridge(spec, handedness=hand).push_block(x), equal_nan=True)
    bridge.push_block(y)
    bridge.reset()
    assert np.array_equal(bridge.push_block(x), one_by_one, equal_nan=True)


def test_inputs_only_spec_keeps_no_state_and_holds_missing_samples_like_the_reference():
    """`FeatureSpec.inputs_only` (the auto recipe's "raw" preset for inertial data): acc + gyro
    passed through, cleaned. No state but the held vectors, so one workspace word; still the
    reference's values, NaN and out-of-range samples held, across chunked pushes."""
    spec = FeatureSpec.for_channels(["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"], 0.02).inputs_only()
    assert spec.names() == ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3, (80, 6))
    x[5, 1] = np.nan  # a missing acc component: the whole acc vector is held
    x[9, 4] = 1e9  # out of the gyro's physical range: held too
    x[0, 3] = np.nan  # before the first valid gyro sample: zeros
    bridge = Bridge(spec)
    assert bridge.workspace_words == bridge_config(spec).workspace_words() == 1
    c = bridge.push_block(x)
    assert_parity(spec, x, 1, c, "inputs only")
    np.testing.assert_array_equal(c[5, :3], c[4, :3])
    np.testing.assert_array_equal(c[9, 3:], c[8, 3:])
    assert (c[0, 3:] == 0).all()
    frame = pl.DataFrame({"sequence_id": ["s"] * 80, "sequence_counter": np.arange(80),
                          **{n: x[:, i] for i, n in enumerate(spec.input_columns())}})
    batch = compute_features(frame, spec).select(spec.names()).to_numpy()
    np.testing.assert_allclose(batch, c, rtol=1e-6, atol=1e-6)
