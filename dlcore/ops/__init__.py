"""Differentiable ops by family: each is a forward computation plus its backward closure,
recorded through ``Tensor._make``. Conv, pooling and softmax cross-entropy run on
:mod:`dlcore.kernels`."""
