"""Batch-level image augmentation on tensors (no per-image Python loop), reproducible with a generator.

`affine`: small random rotation, scale and shift (digits); `crop-flip`: random
shift of up to 4 pixels with zero padding and a horizontal flip (photos).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, gen: torch.Generator, degrees: float = 10.0,
                  scale: tuple[float, float] = (0.9, 1.1), shift: float = 0.1,
                  flip: bool = False) -> torch.Tensor:
    """x: [N, C, H, W] float → same shape, each image with its own random transform."""
    n = x.shape[0]
    u = lambda: torch.rand(n, generator=gen) * 2 - 1          # noqa: E731 - uniform in [-1, 1], [N]
    angle = u() * math.radians(degrees)
    s = 1.0 + (u() + 1) / 2 * (scale[1] - scale[0]) + scale[0] - 1.0
    tx, ty = u() * shift * 2, u() * shift * 2                 # affine_grid units: 2 = full width
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    sx = torch.ones(n)
    if flip:
        sx = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.stack([torch.stack([cos * sx, -sin, tx], 1), torch.stack([sin * sx, cos, ty], 1)], 1)  # [N, 2, 3]
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def crop_flip(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop after zero-padding by `pad`, and a random horizontal flip. x: [N, C, H, W]."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))                   # [N, C, H+2p, W+2p]
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None]).to(x.device)  # [N, H]
    cols = (dx[:, None] + torch.arange(w)[None]).to(x.device)  # [N, W]
    idx_n = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    flip = (torch.rand(n, generator=gen) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def make_augment(kind: str | None) -> Callable[[tuple, torch.Generator], tuple] | None:
    """A Trainer `augment(inputs, gen)` hook for the named augmentation, or None."""
    if kind in (None, "", "none"):
        return None
    fn = {"affine": random_affine, "crop-flip": crop_flip}.get(kind)
    if fn is None:
        raise ValueError(f"unknown augmentation {kind!r}")
    return lambda inputs, gen: (fn(inputs[0], gen),) + tuple(inputs[1:])
