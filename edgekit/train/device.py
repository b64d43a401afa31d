"""Where training runs: device choice, bf16 autocast, optional `torch.compile`, DDP helpers.

- `resolve_device("auto")` picks CUDA when present (the LOCAL_RANK GPU under torchrun), else CPU.
- `autocast(device, enabled)`: bf16 autocast on CUDA (no loss scaling needed, unlike fp16); a
  no-op on CPU, where bf16 matmuls are slower than fp32 on most machines and results would
  differ from the CI reference.
- DDP: under `torchrun --nproc_per_node N -m edgekit train ...` the environment has RANK /
  WORLD_SIZE / LOCAL_RANK; `init_distributed()` starts the process group (NCCL on CUDA, gloo on
  CPU), the model is wrapped in `DistributedDataParallel`, each rank takes every N-th batch
  (`LengthGroupedBatches(rank=, world=)`), every rank evaluates the full validation set (cheap,
  and it keeps ranks in step without gathers) and only rank 0 writes to the run directory.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch

from edgekit.errors import EdgekitError


@dataclass(frozen=True)
class DistEnv:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def dist_env() -> DistEnv:
    """The torchrun environment (rank 0 of 1 when not launched by torchrun)."""
    return DistEnv(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                   int(os.environ.get("LOCAL_RANK", 0)))


def init_distributed(device: torch.device) -> DistEnv:
    env = dist_env()
    if env.enabled and not torch.distributed.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend=backend)
    return env


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", dist_env().local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise EdgekitError(f"device.device = {name!r}; expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EdgekitError(f"device.device = {name!r} but CUDA is not available here; use 'auto' or 'cpu'")
    return device


def autocast(device: torch.device, enabled: bool = True):
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class _TrainForward(torch.nn.Module):
    """`forward` = the model's `forward_train`, so DDP (which syncs gradients only for calls
    through its own `forward`) and `torch.compile` wrap the training outputs dict."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, mask: torch.Tensor, **kwargs) -> dict[str, torch.Tensor]:
        return self.model.forward_train(x, mask, **kwargs)  # demographics= for the teachers that take them


def train_forward(model: torch.nn.Module, device: torch.device, *, compile: bool = False,
                  env: DistEnv | None = None):
    """The callable `(x, mask) -> forward_train dict` of the training step: the model moved to
    `device`, DDP-wrapped under torchrun, optionally compiled. The model itself stays the object
    to save, evaluate and average (EMA)."""
    model.to(device)
    env = env or dist_env()
    if not env.enabled and not compile:
        return model.forward_train
    runner: torch.nn.Module = _TrainForward(model)
    if env.enabled:
        ids = [device.index] if device.type == "cuda" else None
        # find_unused_parameters: heads whose loss weight is 0 (binary, physics) get no gradient
        runner = torch.nn.parallel.DistributedDataParallel(runner, device_ids=ids, find_unused_parameters=True)
    if compile:
        runner = torch.compile(runner, dynamic=True)  # dynamic: batches are cut to their longest sequence
    return runner


def set_threads(threads: int) -> None:
    if threads > 0:
        torch.set_num_threads(threads)
