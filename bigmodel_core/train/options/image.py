"""Training options of the image architectures: LeNet-5, the seed MLP and the small CNN."""
from __future__ import annotations

from typing import ClassVar, Literal

from .base import Options, Slider


def _augment(kind: str) -> str | None:
    return None if kind in (None, "", "none") else kind


class ImageOptions(Options):
    """What every image architecture accepts."""

    augment: Literal["affine", "crop-flip", "none"] | None = None     # batch augmentation (see `augment`)
    size: int | None = None                       # resize every image to size × size first
    invert: bool = False                          # light digits on dark (the predict page inverts drawings)
    channels_last: bool = False                   # NHWC memory layout while training (faster convolutions)


class LeNetOptions(ImageOptions):
    """LeNet-5 has a fixed shape: only the image options."""

    @classmethod
    def from_sliders(cls, width: int, depth: int, dropout: float, augment: str) -> dict:
        return dict(augment=_augment(augment))


class SeedMlpOptions(ImageOptions):
    """The seed MLP: hidden layer widths, halving layer by layer on the page."""

    sliders: ClassVar[dict[str, Slider]] = {"width": Slider(32, 512, 32, 256), "depth": Slider(1, 3, 1, 2)}
    hidden: list[int] = [256, 128]

    @classmethod
    def from_sliders(cls, width: int, depth: int, dropout: float, augment: str) -> dict:
        return dict(hidden=[max(8, int(width) >> i) for i in range(int(depth))], augment=_augment(augment))


class SmallCnnOptions(ImageOptions):
    """The small CNN: channels of each conv block (doubling block by block on the page) and dropout."""

    sliders: ClassVar[dict[str, Slider]] = {"width": Slider(8, 64, 8, 32), "depth": Slider(2, 4, 1, 3),
                                            "dropout": Slider(0.0, 0.5, 0.05, 0.2)}
    widths: list[int] = [32, 64, 128]
    dropout: float = 0.2

    @classmethod
    def from_sliders(cls, width: int, depth: int, dropout: float, augment: str) -> dict:
        return dict(widths=[int(width) << i for i in range(int(depth))], dropout=float(dropout),
                    augment=_augment(augment))
