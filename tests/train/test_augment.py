"""Augmentation invariants: identity when off, mask respected, label mass 1, determinism."""

import pytest
import torch
import torch.nn.functional as F

from edgekit.errors import EdgekitError
from edgekit.train.augment import AugmentConfig, Augmenter

B, T, C, K = 8, 24, 5, 4
LENGTHS = torch.tensor([24, 20, 16, 12, 9, 5, 2, 1])


def _batch(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.arange(T)[None, :] < LENGTHS[:, None]
    # a smooth ramp per channel makes shifts and stretches easy to check
    x = (torch.arange(T, dtype=torch.float32)[None, :, None] + 1.0) * torch.ones(B, 1, C)
    x = (x + torch.randn(B, 1, C, generator=gen)) * mask.unsqueeze(-1)
    target = F.one_hot(torch.arange(B) % K, K).float()
    recon = x[..., :2].clone()
    return x, mask, target, recon


ALL_ON = AugmentConfig(jitter_std=0.1, time_mask_p=0.5, feature_mask_p=0.5, drift_p=0.5, shift_p=0.5,
                       stretch_p=0.5, mixup_p=0.4, cutmix_p=0.4, mirror_p=0.5, gain_p=0.5, offset_std=0.1)
SINGLE_OPS = {
    "jitter": AugmentConfig(jitter_std=0.5),
    "time_mask": AugmentConfig(time_mask_p=1.0, time_mask_max=0.5),
    "feature_mask": AugmentConfig(feature_mask_p=1.0),
    "drift": AugmentConfig(drift_p=1.0),
    "gain": AugmentConfig(gain_p=1.0, gain_std=0.2, offset_std=0.3),
    "shift": AugmentConfig(shift_p=1.0, shift_max=6),
    "stretch": AugmentConfig(stretch_p=1.0, stretch_range=(0.6, 1.5)),
    "mixup": AugmentConfig(mixup_p=1.0),
    "cutmix": AugmentConfig(cutmix_p=1.0),
    "mirror": AugmentConfig(mirror_p=1.0),
    "all": ALL_ON,
}


def _run(cfg, seed=0, batch=None):
    x, mask, target, recon = batch or _batch()
    return Augmenter(cfg, torch.Generator().manual_seed(seed))(x, mask, target, x_mirrored=-x, recon_target=recon,
                                                               recon_mirrored=-recon)


def test_identity_when_everything_is_off():
    x, mask, target, recon = _batch()
    x[0, 5] = float("nan")  # even odd values pass through untouched
    out = Augmenter(AugmentConfig())(x, mask, target, recon_target=recon)
    assert out[0] is x or torch.equal(torch.nan_to_num(out[0]), torch.nan_to_num(x))
    assert torch.equal(out[1], mask) and torch.equal(out[2], target) and torch.equal(out[3], recon)


@pytest.mark.parametrize("name", list(SINGLE_OPS))
def test_mask_respected_and_labels_sum_to_one(name):
    x, mask, target, recon = _batch()
    xo, mo, to, ro = _run(SINGLE_OPS[name])
    assert xo.shape == x.shape and mo.shape == mask.shape and ro.shape == recon.shape
    assert mo.dtype == torch.bool
    assert not bool((mo[:, 1:] & ~mo[:, :-1]).any()), "right padding lost"
    assert bool((mo.sum(1) >= 1).all())
    assert torch.equal(xo * ~mo.unsqueeze(-1), torch.zeros_like(xo)), "non-zero value in a padded step"
    torch.testing.assert_close(to.sum(1), torch.ones(B))
    assert bool((to >= 0).all())
    assert not torch.equal(xo, x), f"{name} changed nothing"


@pytest.mark.parametrize("name", ["all", "mixup", "stretch", "feature_mask"])
def test_deterministic_given_generator(name):
    a = _run(SINGLE_OPS[name], seed=3)
    b = _run(SINGLE_OPS[name], seed=3)
    c = _run(SINGLE_OPS[name], seed=4)
    for u, v in zip(a, b):
        assert torch.equal(u, v)
    assert not all(torch.equal(u, v) for u, v in zip(a, c))


def test_noise_ops_leave_mask_labels_and_recon_target():
    x, mask, target, recon = _batch()
    for name in ("jitter", "time_mask", "feature_mask", "drift", "gain"):
        _, mo, to, ro = _run(SINGLE_OPS[name])
        assert torch.equal(mo, mask) and torch.equal(to, target) and torch.equal(ro, recon), name


def test_time_mask_zeroes_one_short_span_and_feature_mask_whole_channels():
    x, mask, _, _ = _batch()
    xo, *_ = _run(AugmentConfig(time_mask_p=1.0, time_mask_max=0.25))
    zeroed = (xo == 0).all(-1) & mask
    for b in range(B):
        idx = zeroed[b].nonzero().flatten()
        assert 1 <= len(idx) <= max(1, int(LENGTHS[b] * 0.25))
        assert int(idx[-1] - idx[0]) + 1 == len(idx)  # contiguous
    xo, *_ = _run(AugmentConfig(feature_mask_p=1.0, feature_mask_max=2))
    dropped = ((xo == 0) | ~mask.unsqueeze(-1)).all(1)  # (B, C)
    assert bool(((dropped.sum(1) >= 1) & (dropped.sum(1) <= 2)).all())
    torch.testing.assert_close(xo[~dropped.unsqueeze(1).expand_as(xo)], x[~dropped.unsqueeze(1).expand_as(x)])


def test_gain_is_one_scale_and_offset_per_sample_and_channel():
    x, mask, _, _ = _batch()
    xo, *_ = _run(AugmentConfig(gain_p=1.0, gain_std=0.2, offset_std=0.3))
    for b in range(B - 2):  # at least 5 real steps: an affine fit per channel is exact
        t = mask[b]
        for c in range(C):
            slope, intercept = torch.linalg.lstsq(torch.stack([x[b, t, c], torch.ones(int(t.sum()))], 1),
                                                  xo[b, t, c, None]).solution.flatten()
            torch.testing.assert_close(slope * x[b, t, c] + intercept, xo[b, t, c], rtol=1e-4, atol=1e-3)
            assert abs(float(slope) - 1) > 1e-4 and abs(float(intercept)) > 1e-4
    untouched, *_ = _run(AugmentConfig(gain_p=0.0, gain_std=0.2, offset_std=0.3))
    assert torch.equal(untouched, x)


def test_shift_keeps_the_end_and_moves_the_start():
    x, mask, target, recon = _batch()
    xo, mo, _, ro = _run(SINGLE_OPS["shift"], seed=1)
    new_len, old_len = mo.sum(1), mask.sum(1)
    assert not torch.equal(new_len, old_len)
    for b in range(B):
        n, L = int(new_len[b]), int(old_len[b])
        keep = min(n, L)
        # the last real steps are the original last steps (the end is kept)
        torch.testing.assert_close(xo[b, n - keep:n], x[b, L - keep:L])
        if n > L:  # prepended copies of the first real step
            torch.testing.assert_close(xo[b, :n - L], x[b, :1].expand(n - L, C))
        torch.testing.assert_close(ro[b, :n], xo[b, :n, :2])  # recon target follows x


def test_stretch_resamples_lengths_and_keeps_endpoints():
    x, mask, _, _ = _batch()
    xo, mo, _, ro = _run(AugmentConfig(stretch_p=1.0, stretch_range=(0.5, 0.5)))
    expected_len = torch.round(LENGTHS.float() * 0.5).long().clamp_min(1)
    assert torch.equal(mo.sum(1), expected_len)
    for b in range(B):
        n, L = int(expected_len[b]), int(LENGTHS[b])
        torch.testing.assert_close(xo[b, 0], x[b, 0])
        if n > 1:
            torch.testing.assert_close(xo[b, n - 1], x[b, L - 1])
    torch.testing.assert_close(ro, xo[..., :2])
    xo, mo, _, _ = _run(AugmentConfig(stretch_p=1.0, stretch_range=(2.0, 2.0)))
    assert torch.equal(mo.sum(1), (LENGTHS * 2).clamp(max=T))
    torch.testing.assert_close(xo[0, T - 1], x[0, T - 1])  # a full sequence keeps its end


def test_mixup_mixes_labels_like_inputs_and_unions_masks():
    x, mask, _, recon = _batch()
    target = torch.eye(B)  # one class per sample, so label weights name the partner and λ
    xo, mo, to, ro = Augmenter(AugmentConfig(mixup_p=1.0, mixup_alpha=0.4), torch.Generator().manual_seed(2))(
        x, mask, target, recon_target=recon)
    torch.testing.assert_close(to.sum(1), torch.ones(B))
    mixed = 0
    for b in range(B):
        lam = float(to[b, b])
        others = [j for j in range(B) if j != b and to[b, j] > 0]
        assert len(others) <= 1
        j = others[0] if others else b
        mixed += bool(others)
        torch.testing.assert_close(xo[b], lam * x[b] + (1 - lam) * x[j])
        torch.testing.assert_close(ro[b], lam * recon[b] + (1 - lam) * recon[j])
        assert torch.equal(mo[b], mask[b] | mask[j])
    assert mixed >= B // 2


def test_cutmix_label_weight_is_fraction_of_replaced_steps():
    x, mask, _, recon = _batch()
    target = torch.eye(B)  # one class per sample, so label weights name the partner
    xo, mo, to, ro = Augmenter(AugmentConfig(cutmix_p=1.0), torch.Generator().manual_seed(5))(
        x, mask, target, recon_target=recon)
    assert torch.equal(mo, mask)
    changed_any = False
    for b in range(B):
        L = int(LENGTHS[b])
        replaced = (xo[b, :L] != x[b, :L]).any(-1)
        partner = [j for j in range(B) if j != b and to[b, j] > 0]
        if partner:
            changed_any = True
            (j,) = partner
            assert float(to[b, j]) == pytest.approx(int(replaced.sum()) / L)
            torch.testing.assert_close(xo[b, :L][replaced], x[j, :L][replaced])
            assert bool(mask[j, :L][replaced].all()), "cutmix copied the partner's padding"
        else:
            assert not bool(replaced.any())
    assert changed_any
    torch.testing.assert_close(ro, xo[..., :2])


def test_mirror_swaps_whole_samples_with_their_recon_target():
    x, mask, target, recon = _batch()
    xo, _, _, ro = _run(AugmentConfig(mirror_p=0.5), seed=0)
    flipped = [b for b in range(B) if torch.equal(xo[b], -x[b])]
    kept = [b for b in range(B) if torch.equal(xo[b], x[b])]
    assert flipped and kept and len(flipped) + len(kept) == B
    for b in flipped:
        assert torch.equal(ro[b], -recon[b])


def test_bad_inputs_and_config_are_reported():
    x, mask, target, recon = _batch()
    with pytest.raises(EdgekitError, match="right-padded"):
        Augmenter(ALL_ON)(x, mask.flip(1), target)
    with pytest.raises(EdgekitError, match="x_mirrored"):
        Augmenter(AugmentConfig(mirror_p=0.5))(x, mask, target)
    with pytest.raises(EdgekitError, match="recon_mirrored"):
        Augmenter(AugmentConfig(mirror_p=0.5))(x, mask, target, x_mirrored=x, recon_target=recon)
    with pytest.raises(EdgekitError, match="mixup_p \\+ cutmix_p"):
        AugmentConfig(mixup_p=0.6, cutmix_p=0.6)
    with pytest.raises(EdgekitError, match="probability"):
        AugmentConfig(shift_p=1.5)
    with pytest.raises(EdgekitError, match="stretch_range"):
        AugmentConfig(stretch_range=(1.2, 0.8))
