"""edgekit.models: the model zoo (teachers, students), its layers, registry and cost counting.

Model contract (every registered model, teachers and students):

- Builders take `in_chs: int, num_classes: int` plus options:
  `create_model(name, in_chs=.., num_classes=.., **opts)`; an unknown name or option is an
  `EdgekitError`. `list_models(kind=None, streamable=None)` lists registered names.
- `forward(x, mask=None) -> logits (B, num_classes)`: `x` is `(B, T, C)` float32, `mask` is
  `(B, T)` bool with True on real samples. Padding never changes a real sequence's result:
  every temporal layer zeroes padded positions of its input, pooling is masked.
- `forward_train(x, mask=None) -> dict` with `"logits"` and optionally `"binary"` `(B,)` (target vs
  non-target) and `"recon"` `(B, T, R)` (students' physics head, reconstructing input channels
  `model.recon_index` — the trainer names them: `students/physics.py` — loss weight `model.physics_weight`). Training-only heads are not in
  `forward`, so they are not exported.
- Causal, streamable models (`list_models(streamable=True)`) also have
  `forward_sequence(x, mask=None) -> (B, T, num_classes)` per-step logits of the offline causal
  forward; `init_state(batch_size=1) -> tuple[Tensor, ...]` (fixed shapes
  `(batch, *model.state_shapes[i])`); `step(x_t (B, C), *state) -> (logits_t (B, K), *next_state)`.
  Stepping through a sequence equals `forward_sequence` (eval mode). `forward(x, mask)` returns
  the logits of each sequence's last real step, so left padding gives the unpadded result.
"""

from edgekit.models.costs import count_macs, count_params, count_step_macs, model_table
from edgekit.models.registry import create_model, get_entry, list_models, register_model

__all__ = [
    "count_macs",
    "count_params",
    "count_step_macs",
    "create_model",
    "get_entry",
    "list_models",
    "model_table",
    "register_model",
]
