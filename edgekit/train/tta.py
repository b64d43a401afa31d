"""Test-time augmentation views of whole sequences: the handedness mirror and the sign flip.

`predict_views` runs a model on every view of a split and averages the views' log-probabilities
(each view itself averaged over `teachers.tta_shifts` by `loop.predict`), then renormalises: a
geometric mean of the views' probabilities, as folds and members are combined (`ensemble.py`).
The views (`teachers.tta`, none by default):
- "mirror" (CMI schema): `Arrays.x_mirrored`, the features of the recording as the other hand
  would have made it (`features/mirror.py`). A gesture keeps its class under mirroring, so a
  model that has seen both hands (`train.augment.mirror_p`) can average the two.
- "flip" (G2Net): every raw input sign-flipped, x -> -x. Models see scaled inputs
  (x - mean) / std, whose flip is -x_scaled - 2 mean / std on real samples (padding stays 0).
  Exact only when the model inputs are the raw channels (`features.preset = "none"`): a derived
  feature of -x is not minus the feature. It helps only a task symmetric under the flip (a
  strain signal, not an accelerometer that sees gravity).
With both, the flip applies to the sequence and to its mirror (four views).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.train.loop import predict
from edgekit.train.scoring import log_probs
from edgekit.train.tensors import Arrays, Scaler, SequenceTensors

VIEWS = ("mirror", "flip")


def check_tta(tta: Sequence[str], spec) -> None:
    """Refuse a view the run's inputs cannot give (before anything is trained)."""
    if "flip" in tta and spec is not None:
        raise EdgekitError("teachers.tta has 'flip', which negates the input signals: exact only when the models see "
                           "the raw channels, and this run computes features from them; set features.preset = 'none' "
                           "or remove 'flip' from teachers.tta")


def predict_views(model, arrays: Arrays, num_classes: int, batch_size: int, device, amp: bool = True, *,
                  tta_shifts: Sequence[int] = (), tta: Sequence[str] = (), scaler: Scaler | None = None) -> np.ndarray:
    """`(N, K)` log-probabilities of `model` on `arrays`, averaged over the views `tta` asks for;
    `scaler` (the run's) is needed for "flip"."""
    views = [arrays.x]
    if "mirror" in tta:
        if arrays.x_mirrored is None:
            raise EdgekitError("teachers.tta has 'mirror' but these sequences carry no mirrored view; it needs "
                               "CMI-schema data with handedness and a feature spec with mirror = true; remove "
                               "'mirror' from teachers.tta for this data")
        views.append(arrays.x_mirrored)
    if "flip" in tta:
        if scaler is None:
            raise EdgekitError("teachers.tta 'flip' needs the run's scaler (the flip is of the unscaled signal)")
        views += [flipped(v, arrays.mask, scaler) for v in views]
    targets = np.zeros((len(arrays), num_classes), np.float32)  # unlabelled splits need some
    logp = [log_probs(predict(model, SequenceTensors(replace(arrays, x=v, x_mirrored=None), num_classes, targets=targets),
                              batch_size, device, amp, tuple(tta_shifts)))
            for v in views]
    return logp[0] if len(logp) == 1 else log_probs(np.mean(logp, axis=0))


def flipped(x: np.ndarray, mask: np.ndarray, scaler: Scaler) -> np.ndarray:
    """Scaled inputs `x (N, L, C)` of the sign-flipped raw signals: (-raw - mean) / std."""
    offset = (-2.0 * scaler.mean.astype(np.float64) / scaler.std).astype(np.float32)
    return ((offset - x) * mask[..., None]).astype(np.float32)
