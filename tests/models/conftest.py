"""Model tests share two CPU cores with other work: one torch thread keeps timings steady."""

import torch

torch.set_num_threads(1)
