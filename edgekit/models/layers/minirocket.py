"""MiniRocket features (Dempster, Schmidt & Webb, "MiniRocket", KDD 2021, arXiv 2012.08791), in torch.

84 fixed kernels of length 9 (weights -1, with 2 at three of the nine taps: every choice of three),
each at a set of dilations spread exponentially up to the reference length, each summed over a
random subset of up to 9 channels (the multivariate variant of the authors' code); per kernel and
dilation, biases are quantiles of its convolution output on one random training example; a feature
is the PPV (proportion of positive values) of `conv - bias` over the sequence. About 10 K features,
all fixed: only what reads them (a norm and a linear head, see `teachers/minirocket.py`) trains.

Layout: `(B, C, T)` in, `(B, num_features)` out; the mask is `(B, 1, T)` float (1 = real sample).
As in the paper, half the (kernel, dilation) pairs are zero padded ("same") and half count only the
positions whose receptive field lies inside the sequence, alternating.

Fitting: `fit(x, mask)` picks the dilations from the batch's longest real sequence (unless
`length` was given: set it when the first, length-grouped batch may be shorter than the data) and
sets the biases; the module calls it itself on its first forward in training mode, so the one
training loop needs no extra step (under DDP each rank fits on its own first batch, and rank 0's
buffers win from the next step on). Everything fitted (biases, reference length, the fitted
flag) and the random channel subsets are buffers: saved in the state_dict, restored by resume and
`load_model`, averaged unchanged by EMA (constant after the first step). Unfitted, the biases are 0.

One deviation, for export: PPV uses a ramp of width `PPV_RAMP` around the bias instead of a hard
step, so the last-bit differences between runtimes (torch vs ONNX Runtime, batched vs alone) move a
feature continuously instead of flipping a whole `1/T` step when a value sits on its bias.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from edgekit.models.layers.masking import lengths_of, positions_like

KERNEL_LENGTH = 9
NUM_KERNELS = 84  # C(9, 3): every placement of the three weights of 2
MAX_CHANNELS_PER_KERNEL = 9
DEFAULT_FEATURES = 9_996  # the paper's 10 000, rounded down to a multiple of 84
UNFITTED_LENGTH = 128  # dilations of a model that has seen no data yet (a fresh model in eval)
PPV_RAMP = 1e-3  # width of the PPV step, in units of standardized input (convs sum ~9·C of them)
_CHUNK = 8  # quantiles per PPV product: bounds the (B, 84, chunk, T) temporary


def features_per_kernel(num_features: int) -> int:
    return max(1, num_features // NUM_KERNELS)


def kernel_weights() -> torch.Tensor:
    """`(84, 9)`: -1 everywhere, 2 at each combination of three taps (in lexicographic order)."""
    w = -torch.ones(NUM_KERNELS, KERNEL_LENGTH)
    for k, taps in enumerate(itertools.combinations(range(KERNEL_LENGTH), 3)):
        w[k, list(taps)] = 2.0
    return w


@lru_cache(maxsize=64)
def dilation_plan(length: int, per_kernel: int, max_dilations: int = 32) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(dilations, features per dilation) as in the paper: exponents spread evenly so the widest
    kernel spans the reference length; counts of repeated dilations become features."""
    count = min(per_kernel, max_dilations)
    max_exponent = max(0.0, math.log2(max(1, length - 1) / (KERNEL_LENGTH - 1)))
    points = [int(2 ** (max_exponent * i / (count - 1))) if count > 1 else 1 for i in range(count)]
    dilations = sorted(set(points))
    multiplier = per_kernel / count
    features = [int(points.count(d) * multiplier) for d in dilations]
    for i in range(per_kernel - sum(features)):  # the remainder goes round-robin, smallest dilation first
        features[i % len(features)] += 1
    return tuple(dilations), tuple(features)


def quantiles(n: int) -> torch.Tensor:
    """The low-discrepancy sequence `(i · φ) mod 1`, i = 1..n, that places the biases."""
    golden = (math.sqrt(5.0) + 1.0) / 2.0
    return torch.tensor([(i * golden) % 1.0 for i in range(1, n + 1)], dtype=torch.float64)


def channel_subsets(in_chs: int, slots: int, generator: torch.Generator) -> torch.Tensor:
    """`(slots, 84, in_chs)` bool: each (dilation slot, kernel) sums over 1..min(C, 9) random
    channels, the count drawn as `2 ** U(0, log2(min(C, 9) + 1))` (the authors' multivariate rule)."""
    top = math.log2(min(in_chs, MAX_CHANNELS_PER_KERNEL) + 1)
    counts = (2 ** (torch.rand(slots * NUM_KERNELS, generator=generator, dtype=torch.float64) * top)).long()
    counts = counts.clamp(1, min(in_chs, MAX_CHANNELS_PER_KERNEL))
    chosen = torch.zeros(slots * NUM_KERNELS, in_chs, dtype=torch.bool)
    for row, n in enumerate(counts.tolist()):
        chosen[row, torch.randperm(in_chs, generator=generator)[:n]] = True
    return chosen.view(slots, NUM_KERNELS, in_chs)


class MiniRocketFeatures(nn.Module):
    def __init__(self, in_chs: int, num_features: int = DEFAULT_FEATURES, max_dilations: int = 32,
                 length: int = 0, seed: int = 0):
        super().__init__()
        self.in_chs = in_chs
        self.per_kernel = features_per_kernel(num_features)
        self.num_features = NUM_KERNELS * self.per_kernel
        self.max_dilations = max(1, min(max_dilations, self.per_kernel))
        self.fixed_length = length > 0  # else the reference length comes from the first training batch
        self.seed = seed
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("kernels", kernel_weights(), persistent=False)
        self.register_buffer("even_kernel", (torch.arange(NUM_KERNELS) % 2 == 0).float().view(1, NUM_KERNELS, 1),
                             persistent=False)
        self.register_buffer("channels", channel_subsets(in_chs, self.max_dilations, g))
        self.register_buffer("ref_length", torch.tensor(length if length > 0 else UNFITTED_LENGTH))
        self.register_buffer("biases", torch.zeros(self.num_features))
        self.register_buffer("fitted", torch.tensor(False))

    def plan(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        # a Python int from a buffer: constant in a traced graph, as the dilations must be
        return dilation_plan(int(self.ref_length), self.per_kernel, self.max_dilations)

    def _weight(self, slot: int, dtype: torch.dtype) -> torch.Tensor:
        """`(84, C, 9)` conv weight of one dilation slot: each kernel on its channel subset."""
        return self.kernels.to(dtype).unsqueeze(1) * self.channels[slot].to(dtype).unsqueeze(-1)

    def _convs(self, x: torch.Tensor):
        for slot, (dilation, count) in enumerate(zip(*self.plan())):
            pad = (KERNEL_LENGTH - 1) // 2 * dilation
            yield slot, dilation, count, F.conv1d(x, self._weight(slot, x.dtype), padding=pad, dilation=dilation)

    @torch.no_grad()
    def fit(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """Set the reference length (unless fixed) and the biases from a batch `(B, C, T)`."""
        x, mask = _prepared(x, mask)
        lengths = lengths_of(mask)[:, 0, 0]  # (B,)
        if not self.fixed_length:
            self.ref_length.fill_(int(lengths.max().item()))
        g = torch.Generator().manual_seed(self.seed + 1)
        q = quantiles(self.num_features).to(x.device)
        start = 0
        for _, _, count, conv in self._convs(x):
            # one random example per kernel, its zero-padded output over its real length (as the paper)
            pick = torch.randint(len(x), (NUM_KERNELS,), generator=g).to(x.device)
            values = conv[pick, torch.arange(NUM_KERNELS, device=x.device)].double()  # (84, T)
            n = lengths[pick].double().clamp_min(1.0)  # (84,)
            real = positions_like(values) < n.unsqueeze(1)
            values = torch.sort(values.masked_fill(~real, math.inf), dim=1).values
            qs = q[start:start + NUM_KERNELS * count].view(NUM_KERNELS, count)
            self.biases[start:start + NUM_KERNELS * count] = _linear_quantile(values, n, qs).flatten().float()
            start += NUM_KERNELS * count
        self.fitted.fill_(True)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.training and not bool(self.fitted):
            self.fit(x, mask)
        with torch.autocast(x.device.type, enabled=False):  # biases were fitted in float32
            x, mask = _prepared(x.float(), mask)
            pos, length = positions_like(mask), lengths_of(mask)
            feats, start = [], 0
            for slot, dilation, count, conv in self._convs(x):
                reach = (KERNEL_LENGTH - 1) // 2 * dilation
                inside = ((pos >= reach) & (pos < length - reach)).float()  # receptive field inside the sequence
                padded = self.even_kernel if slot % 2 == 0 else 1.0 - self.even_kernel  # alternate, as the paper
                where = mask * (padded + (1.0 - padded) * inside)  # (B, 84, T)
                count_where = where.sum(-1, keepdim=True).clamp_min(1.0)
                # positions that do not count read -inf: they clamp to 0 below (a masked sum without
                # a (B, 84, n, T) product, 10x faster than a matmul against the mask)
                scaled = torch.where(where > 0, conv / PPV_RAMP, torch.full_like(conv, -math.inf)).unsqueeze(2)
                biases = self.biases[start:start + NUM_KERNELS * count].view(1, NUM_KERNELS, count, 1) / PPV_RAMP - 0.5
                ppv = [(scaled - biases[:, :, j:j + _CHUNK]).clamp_(0.0, 1.0).sum(-1) / count_where  # (B, 84, n)
                       for j in range(0, count, _CHUNK)]
                feats.append(torch.cat(ppv, dim=2).flatten(1))  # dilation-major, then kernel, then quantile
                start += NUM_KERNELS * count
            return torch.cat(feats, dim=1)


def _prepared(x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    if mask is None:
        return x, torch.ones_like(x[:, :1])
    mask = mask.to(x.dtype)
    return x * mask, mask


def _linear_quantile(sorted_values: torch.Tensor, n: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """numpy's default ("linear") quantiles `q` `(K, Q)` of each row's first `n` sorted values."""
    pos = q * (n.unsqueeze(1) - 1.0)
    lo = pos.floor().long()
    hi = torch.minimum(lo + 1, (n.long() - 1).unsqueeze(1))
    frac = pos - lo.double()
    a, b = sorted_values.gather(1, lo), sorted_values.gather(1, hi)
    return a + (b - a) * frac
