"""Teacher models: importing this package registers them (`@register_model(kind="teacher")`).

All take `(B, T, C)` plus a `(B, T)` padding mask and return `(B, num_classes)` logits;
`forward_train` adds the binary target-vs-non-target logit. Shared parts live in `base.py`.
"""

from edgekit.models.teachers import (  # noqa: F401
    cnn_bigru_attn,
    densenet1d,
    inception_time,
    minirocket,
    resnet1d,
    spectro2d,
    squeezeformer,
    unet_se_wave_gru,
    wavenet1d,
)
