"""Scaled dot-product self-attention, step by step, and the attention maps of a trained tiny BERT.

For T tokens with embeddings X [T, d] and projection matrices W_Q, W_K, W_V [d, d]:

    Q = X · W_Q,  K = X · W_K,  V = X · W_V          [T, d] each
    S = Q · Kᵀ / √d                                  [T, T]  how well query i matches key j
    A = softmax(S) row by row                        [T, T]  each row sums to 1
    out = A · V                                      [T, d]  each token's weighted mix of the values

Dividing by √d keeps the scores' spread independent of d, so the softmax does
not saturate into a one-hot row as the vectors get longer.
"""
from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from bigmodel_core.errors import ModelError
from bigmodel_core.paths import models_dir
from bigmodel_core.serve.card import ModelCard
from bigmodel_core.teach.activations import softmax

if TYPE_CHECKING:
    from tokenizers import Tokenizer

EXAMPLE_SENTENCE = "我 喜欢 吃 苹果"
TINY_MODEL = "sst2-tiny"


# ----------------------------------------------------------------------------- the calculator

def tokens(sentence: str) -> list[str]:
    """Space-separated tokens (the calculator does no sub-word splitting)."""
    return sentence.split()


def token_embedding(token: str, d: int) -> np.ndarray:
    """A made-up embedding [d] fixed by the token's text, so the same word keeps its vector."""
    rng = np.random.default_rng(zlib.crc32(token.encode("utf-8")))
    return np.round(rng.normal(0, 1, d), 2)


def default_weights(d: int, seed: int = 0) -> dict:
    """W_Q, W_K, W_V [d, d] from a fixed seed, rounded so they are easy to read and edit."""
    rng = np.random.default_rng(seed)
    return {name: np.round(rng.normal(0, 1 / math.sqrt(d), (d, d)), 2) for name in ("Wq", "Wk", "Wv")}


def embed(toks: list[str], d: int) -> np.ndarray:
    return np.stack([token_embedding(tok, d) for tok in toks]) if toks else np.zeros((0, d))   # [T, d]


def self_attention(X: ArrayLike, Wq: ArrayLike, Wk: ArrayLike, Wv: ArrayLike) -> dict:  # noqa: N803
    """Every intermediate of softmax(Q Kᵀ / √d) · V."""
    X = np.asarray(X, dtype=float)                       # [T, d]
    Q, K, V = X @ Wq, X @ Wk, X @ Wv                     # [T, d] each
    d = Q.shape[-1]
    scores = Q @ K.T                                     # [T, T]
    scaled = scores / math.sqrt(d)                       # [T, T]
    weights = softmax(scaled)                            # [T, T], rows sum to 1
    out = weights @ V                                    # [T, d]
    return {"Q": Q, "K": K, "V": V, "scores": scores, "scaled": scaled, "weights": weights, "out": out}


# ----------------------------------------------------------------------------- the trained tiny BERT

def tiny_model_folder(model_id: str = TINY_MODEL) -> Path:
    return models_dir() / model_id


def load_text_model(folder: Path) -> tuple[Any, Tokenizer, ModelCard]:
    """The tiny BERT of a registry folder, rebuilt from card.json + weights.safetensors, and its tokenizer.

    Raises ModelError (with what to do) when the folder or one of its files is missing.
    """
    folder = Path(folder)
    card_file, weights, tok_file = folder / "card.json", folder / "weights.safetensors", folder / "tokenizer.json"
    missing = [p.name for p in (card_file, weights, tok_file) if not p.exists()]
    if missing:
        raise ModelError(f"The model folder {folder} lacks {', '.join(missing)}.",
                         hint="python -m bigmodel_core build-defaults --only sst2-tiny")
    card = ModelCard.read(card_file)
    if card.architecture != "tiny-bert":
        raise ModelError(f"'{folder.name}' is not a tiny BERT model.", hint="pick a tiny-bert model")
    from safetensors.torch import load_file

    from bigmodel_core.nn.zoo import build_model
    from bigmodel_core.serve.preprocess import load_tokenizer

    model = build_model(card.architecture, dict(card.arch_config, pretrained=False))
    model.load_state_dict(load_file(str(weights)))
    model.eval()
    return model, load_tokenizer(tok_file), card


def attention_maps(model: Any, tokenizer: Tokenizer, text: str) -> dict:
    """Tokens, attention weights [layers, heads, T, T] and class probabilities for one sentence."""
    import torch

    enc = tokenizer.encode(text)
    ids = torch.tensor([enc.ids], dtype=torch.long)                     # [1, T]
    mask = torch.tensor([enc.attention_mask], dtype=torch.long)         # [1, T]
    with torch.inference_mode():
        out = model.bert(input_ids=ids, attention_mask=mask, output_attentions=True)
        logits = model(ids, mask)[0]                                    # [classes]: the whole model's answer
    maps = torch.stack(out.attentions)[:, 0]                            # [layers, heads, T, T]
    probs = torch.softmax(logits, dim=-1)                               # [classes] (n-gram bag and pooling included)
    return {"tokens": list(enc.tokens), "maps": maps.numpy().astype(float), "probs": probs.numpy().astype(float)}
