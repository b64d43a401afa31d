"""The one training loop: it learns, batches by length, distils, reconstructs, predicts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgekit.models import create_model
from edgekit.train.config import TrainConfig
from edgekit.train.loop import FitOptions, Progress, fit, predict
from edgekit.train.losses import LossConfig, Objective
from edgekit.train.schedule import OptimConfig
from edgekit.train.tensors import Arrays, LengthGroupedBatches, Scaler, SequenceTensors, collate, to_arrays

CPU = torch.device("cpu")


def _toy(n=96, length=40, channels=3, seed=0):
    """Class 0: a slow sine on channel 0; class 1: a fast one. Variable lengths."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    seqs = []
    for y in labels:
        t = np.arange(rng.integers(length // 2, length + 1))
        freq = 0.05 if y == 0 else 0.25
        s = rng.normal(0, 0.3, (len(t), channels)).astype(np.float32)
        s[:, 0] += np.sin(2 * np.pi * freq * t + rng.uniform(0, 6))
        seqs.append(s)
    return seqs, labels


def _arrays(n=96, seed=0) -> Arrays:
    seqs, labels = _toy(n, seed=seed)
    return to_arrays(seqs, labels, Scaler.fit(seqs, ("a", "b", "c")), 40, "last")


def _cfg(epochs=6, **loss):
    return TrainConfig(epochs=epochs, batch_size=16, optim=OptimConfig(lr=1e-2, warmup_frac=0.1),
                       loss=LossConfig(label_smoothing=0.0, **loss))


def _scores(labels, logits):
    return {"accuracy": float((logits.argmax(1) == labels).mean())}


def test_fit_learns_and_reports_progress():
    torch.manual_seed(0)
    train, valid = SequenceTensors(_arrays(), 2), SequenceTensors(_arrays(48, seed=1), 2)
    model = create_model("wavenet1d", in_chs=3, num_classes=2, chs=8, dilations=(1, 2, 4))
    events: list[Progress] = []
    result = fit(model, train, _cfg(), Objective(_cfg().loss, 2), FitOptions(epochs=6, seed=0, device=CPU, stage="t"),
                 valid=valid, score=_scores, on_progress=events.append)
    history = result.history
    assert len(history) == 6 and history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_accuracy"] >= 0.9
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("epoch") == 6 and "step" in kinds
    logits = predict(result.model, valid, 32, CPU, tta_shifts=(2,))
    assert logits.shape == (48, 2) and np.isfinite(logits).all()


def test_distillation_and_physics_terms_join_the_loss():
    torch.manual_seed(0)
    arrays = _arrays(32)
    teacher = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)
    data = SequenceTensors(arrays, 2, teacher_logits=teacher)
    model = create_model("mbconv_tcn_xs", in_chs=3, num_classes=2, recon_chs=2)
    cfg = _cfg(epochs=1, physics_weight=0.1)
    seen = []
    objective = Objective(cfg.loss, 2)

    def spy(*args, **kwargs):  # the loop calls objective(...): record the loss parts it computes
        loss, parts = objective(*args, **kwargs)
        seen.append(parts)
        return loss, parts

    fit(model, data, cfg, spy, FitOptions(epochs=1, seed=0, device=CPU, physics_index=tuple(model.recon_index)))
    assert seen and all({"kd", "physics", "class"} <= set(p) for p in seen)


def test_length_grouped_batches_cover_every_index_once_and_repeat_per_epoch():
    lengths = np.random.default_rng(0).integers(5, 100, 203)
    sampler = LengthGroupedBatches(lengths, 16, seed=3)
    sampler.set_epoch(2)
    first = list(sampler)
    assert sorted(i for b in first for i in b) == list(range(203))
    spread = np.mean([np.ptp(lengths[b]) for b in first])
    assert spread < 0.5 * np.ptp(lengths)  # batches hold similar lengths
    sampler.set_epoch(2)
    assert list(sampler) == first  # a resumed epoch draws the same batches
    sampler.set_epoch(3)
    assert list(sampler) != first
    # DDP: 13 batches over 2 ranks → 7 steps each, the list padded with one repeated batch
    shards = [list(LengthGroupedBatches(lengths, 16, seed=3, rank=r, world=2)) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 7
    assert {i for s in shards for b in s for i in b} == set(range(203))
    assert len({i for b in shards[0] for i in b} & {i for b in shards[1] for i in b}) <= 16


def test_collate_cuts_to_the_longest_real_sequence_and_scaler_keeps_padding_zero():
    seqs = [np.ones((5, 2), np.float32) * 3, np.ones((9, 2), np.float32)]
    scaler = Scaler.fit(seqs, ("a", "b"))
    arrays = to_arrays(seqs, np.array([0, 1]), scaler, 20, "last")
    assert (arrays.x[~arrays.mask] == 0).all()
    assert abs(arrays.x[arrays.mask].mean()) < 1e-5
    batch = collate(SequenceTensors(arrays, 2)[[0]])
    assert batch["x"].shape == (1, 5, 2) and batch["target"].tolist() == [[1.0, 0.0]]
    assert Scaler.from_dict(scaler.to_dict()).mean.tolist() == scaler.mean.tolist()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available: bf16 autocast path not run")
def test_fit_on_cuda_with_bf16_autocast():
    train = SequenceTensors(_arrays(32), 2)
    model = create_model("wavenet1d", in_chs=3, num_classes=2, chs=8, dilations=(1, 2))
    result = fit(model, train, _cfg(epochs=1), Objective(_cfg().loss, 2),
                 FitOptions(epochs=1, seed=0, device=torch.device("cuda"), amp=True))
    assert np.isfinite(result.history[-1]["train_loss"])
    assert np.isfinite(predict(result.model, train, 16, torch.device("cuda"))).all()
