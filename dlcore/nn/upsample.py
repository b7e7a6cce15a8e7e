"""Upsample: ``F.interpolate`` as a layer, for decoders and generators (nearest ×2 then a
stride-1 conv is the alternative to a transposed conv that avoids checkerboard artefacts)."""
from __future__ import annotations

from dlcore.nn import functional as F
from dlcore.nn.module import Module
from dlcore.ops import resample
from dlcore.tensor import Tensor


class Upsample(Module):
    """Resize (N, C, H, W) — or (N, C, L) in modes ``"nearest"``/``"linear"`` — to ``size``,
    or by ``scale_factor`` (output ``floor(in * scale_factor)``), as ``torch.nn.Upsample``.
    No parameters. The arguments are checked here, so a bad one fails when the model is built
    rather than at its first batch."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None):
        super().__init__()
        self.size, self.scale_factor, _ = resample.check_options(
            "Upsample", size, scale_factor, mode, align_corners, recompute_scale_factor)
        self.mode = mode
        self.align_corners = align_corners  # None stays None, as in PyTorch (False is meant)
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        resample.check_input(self._describe(), x, self.mode)
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        setting = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                   else f"size={self.size!r}")
        return f"{setting}, mode={self.mode!r}"
