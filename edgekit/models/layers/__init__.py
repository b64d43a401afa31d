"""Building blocks shared by teachers and students; one concept per file.

Inside conv stacks tensors are `(B, C, T)`; masks are `(B, 1, T)` float (1 = real sample).
"""

from edgekit.models.layers.causal import (
    CausalConv1d,
    RunningMeanPool,
    SameConv1d,
    StreamState,
    assign_state_slots,
    create_conv1d,
)
from edgekit.models.layers.depthwise_separable import DepthwiseSeparableConv
from edgekit.models.layers.drop_path import DropPath
from edgekit.models.layers.factories import ChannelLayerNorm, get_act, get_norm
from edgekit.models.layers.large_kernel_conv import LargeKernelConv
from edgekit.models.layers.mbconv import MBConv1d
from edgekit.models.layers.moderntcn_block import ModernTCNBlock
from edgekit.models.layers.multiscale_conv import MultiScaleConv
from edgekit.models.layers.pooling import MaskedGlobalPool, masked_max, masked_mean
from edgekit.models.layers.squeeze_excite import SqueezeExcite
from edgekit.models.layers.attention_pool import AttentionPool, AttentionPool1d
from edgekit.models.layers.bert import BertLayer
from edgekit.models.layers.bigru import MaskedBiGRU
from edgekit.models.layers.coord_attention import CoordAttention1d
from edgekit.models.layers.cwt import MorletCwt
from edgekit.models.layers.dense_block import DenseBlock1d, DenseLayer1d, Transition1d
from edgekit.models.layers.gem import MaskedGeM
from edgekit.models.layers.global_pool import POOL_TYPES, create_global_pool
from edgekit.models.layers.masking import MaskedBatchNorm, MaskedIdentity, resample_mask, reverse_within_length
from edgekit.models.layers.mbconv2d import MBConv2d, MBConvStack2d, MBConvStage
from edgekit.models.layers.modality import DemographicsEmbedding, InputLayout, ModalityEncoder
from edgekit.models.layers.residual_cnn import BasicBlock1d, ConvNormAct1d, ResidualCABlock
from edgekit.models.layers.spectrogram import SpectrogramFrontend, StftConv, create_frontend
from edgekit.models.layers.squeezeformer import MaskedSelfAttention, SqueezeformerBlock, TransformerBlock
from edgekit.models.layers.unet import SEUNet1d
from edgekit.models.layers.wavenet_block import WaveBlock, WaveNetStack
