"""Training options of the text architectures: the tiny BERT trained from scratch and pre-trained MiniLM."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import field_validator

from .base import Options, Slider, Stage, empty_is_none


class Transfer(Stage):
    """Supervised pre-training on other corpora labelled with the same classes."""

    corpora: list[str] = []
    epochs: int = 1
    lr: float | None = None                       # None: the main stage's learning rate


class WideFirst(Stage):
    """Train the n-gram bag alone first (a logistic regression with an L2 penalty)."""

    epochs: int = 20
    lr: float = 1e-3
    l2: float = 0.0
    freeze: bool = False                          # keep the bag fixed while the transformer trains
    patience: int | None = None


class Pretrain(Stage):
    """Masked-language pre-training on the train + validation sentences and extra corpora."""

    corpora: list[str] = []
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3


class TextOptions(Options):
    """What every text architecture accepts."""

    max_length: int = 64                          # tokens per text (longer texts are cut)
    dropout: float = 0.1
    class_weight: Literal["balanced"] | None = None
    monitor: str | None = None                    # picks the best epoch: accuracy, macro_f1 or roc_auc
    validation: Literal["default", "sentences"] = "default"             # sentences: whole-sentence validation
    transfer: Transfer | None = None

    _stages = field_validator("transfer", mode="before")(empty_is_none)


class MiniLMOptions(TextOptions):
    """Pre-trained all-MiniLM-L6-v2 + a head: only the dropout is shown on the page."""

    sliders: ClassVar[dict[str, Slider]] = {"dropout": Slider(0.0, 0.5, 0.05, 0.1)}

    @classmethod
    def from_sliders(cls, width: int, depth: int, dropout: float, augment: str) -> dict:
        return dict(dropout=float(dropout))


class TinyBertOptions(TextOptions):
    """The tiny BERT with its own WordPiece vocabulary, and its optional n-gram bag (wide and deep)."""

    sliders: ClassVar[dict[str, Slider]] = {"width": Slider(64, 256, 64, 128), "depth": Slider(1, 4, 1, 2),
                                            "dropout": Slider(0.0, 0.5, 0.05, 0.1)}
    vocab_size: int = 8000
    hidden: int = 128
    layers: int = 2
    heads: int = 4
    intermediate: int = 256
    pooling: Literal["cls", "mean"] = "cls"
    ngram_buckets: int = 0                        # 0: no n-gram bag
    ngram_order: int = 2
    ngram_fusion: Literal["sum", "late"] = "sum"
    wide_first: WideFirst | None = None
    pretrain: Pretrain | None = None

    _tiny_stages = field_validator("wide_first", "pretrain", mode="before")(empty_is_none)

    @classmethod
    def from_sliders(cls, width: int, depth: int, dropout: float, augment: str) -> dict:
        return dict(hidden=int(width), layers=int(depth), heads=4, intermediate=2 * int(width),
                    dropout=float(dropout))
