"""Layers, losses and the Module machinery, with PyTorch's names (``import dlcore.nn as nn``)."""
from dlcore.nn import functional, init, utils
from dlcore.nn.activation import (
    ELU, GELU, LeakyReLU, LogSoftmax, PReLU, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh,
)
from dlcore.nn.attention import MultiheadAttention
from dlcore.nn.scoring import AdditiveAttention, DotProductAttention, GeneralAttention
from dlcore.nn.containers import ModuleDict, ModuleList, Sequential
from dlcore.nn.conv import Conv2d, ConvTranspose2d
from dlcore.nn.dropout import Dropout
from dlcore.nn.embedding import Embedding
from dlcore.nn.linear import Flatten, Identity, Linear, Unflatten
from dlcore.nn.loss import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GaussianNLLLoss, KLDivLoss, L1Loss, MSELoss,
    NLLLoss,
)
from dlcore.nn.module import Module
from dlcore.nn.norm import BatchNorm1d, BatchNorm2d, LayerNorm
from dlcore.nn.parameter import Parameter
from dlcore.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from dlcore.nn.positional import PositionalEncoding
from dlcore.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from dlcore.nn.transformer import (
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
    TransformerEncoderLayer,
)
from dlcore.nn.upsample import Upsample
from dlcore.nn.variational import GaussianSample

__all__ = [
    "AdaptiveAvgPool2d", "AdditiveAttention", "AvgPool2d", "DotProductAttention",
    "GeneralAttention", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d",
    "BatchNorm2d", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss", "Dropout", "ELU",
    "Embedding", "Flatten",
    "GELU", "GRU", "GRUCell", "GaussianNLLLoss", "GaussianSample", "Identity", "KLDivLoss",
    "L1Loss", "LSTM", "LSTMCell",
    "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module",
    "ModuleDict", "ModuleList", "MultiheadAttention", "NLLLoss", "PReLU", "Parameter",
    "PositionalEncoding", "RNN", "RNNCell", "ReLU", "Sequential", "SiLU", "Sigmoid", "Softmax",
    "Softplus", "Tanh", "Transformer", "TransformerDecoder", "TransformerDecoderLayer",
    "TransformerEncoder", "TransformerEncoderLayer", "Unflatten", "Upsample", "functional",
    "init", "utils",
]
