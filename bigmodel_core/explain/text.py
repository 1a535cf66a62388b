"""Why a text model said what it said, word by word.

With PyTorch weights (tiny BERT, MiniLM trained here): captum `LayerIntegratedGradients` over the
word-embedding layer, 32 Gauss-Legendre steps, from a baseline in which every real token is `[PAD]`
(`[CLS]`, `[SEP]` and the attention mask kept). Completeness holds: the attributions add up to
f(text) − f(baseline) up to captum's convergence delta, which is returned. A wide-and-deep model's
n-gram vote tables are integrated along the same path (an n-gram's share split among its word
pieces), so completeness still holds for the whole model; an ensemble gets word removal. Without
weights (the pre-trained MiniLM shipped as ONNX only, int8 copies): captum `FeatureAblation`
through ONNX Runtime — each word is removed in turn (its attention-mask entries set to 0) and
scored by the drop in probability. Sub-word pieces are summed into the words as typed (a Chinese
character is a word).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.errors import ModelError
from bigmodel_core.explain.common import OrtForward, pick_target

if TYPE_CHECKING:
    import torch

    from bigmodel_core.serve.runtime import Predictor

INTEGRATED_GRADIENTS = "integrated-gradients"
WORD_ABLATION = "word-ablation"
IG_STEPS = 32
_REMOVED = -1               # token id that means "this word is removed" in the ablation forward


@dataclass
class TextExplanation:
    words: list[str]              # words as typed (sub-word pieces merged)
    scores: np.ndarray            # [W] contribution of each word to the class score
    target: int
    score: float                  # f(text): class probability
    baseline_score: float | None  # f(baseline): all-[PAD] text (IG), None for ablation
    method: str
    delta: float | None = None    # captum's convergence delta (IG only)
    truncated: bool = False       # the text was longer than the model reads

    @property
    def total(self) -> float:
        return float(np.sum(self.scores))


def word_embeddings(model: torch.nn.Module) -> torch.nn.Module:
    """The token-embedding layer of a text model (tiny BERT or MiniLM)."""
    for name, module in model.named_modules():
        if name.endswith("word_embeddings"):
            return module
    raise ModelError("This text model has no word-embedding layer to attribute to.")


def _words(enc, text: str, max_tokens: int) -> tuple[np.ndarray, list[str]]:
    """Token → word group (-1 for special tokens and padding) and each word's text as typed."""
    groups, words, first = np.full(max_tokens, -1, dtype=np.int64), [], {}
    spans: dict[int, list[int]] = {}
    for i, (wid, special, (a, b)) in enumerate(zip(enc.word_ids, enc.special_tokens_mask, enc.offsets, strict=False)):
        if wid is None or special or i >= max_tokens:
            continue
        if wid not in first:
            first[wid] = len(first)
            spans[first[wid]] = [a, b]
        g = first[wid]
        spans[g][0], spans[g][1] = min(spans[g][0], a), max(spans[g][1], b)
        groups[i] = g
    for g in range(len(first)):
        a, b = spans[g]
        words.append(text[a:b] or "?")
    return groups, words


def _encode_one(tokenizer, text: str):
    from bigmodel_core.serve.preprocess import clean_texts

    (text,), _ = clean_texts([text])
    enc = tokenizer.encode(text)
    truncated = bool(enc.overflowing)
    return text, enc, truncated


def _merge(per_token: np.ndarray, groups: np.ndarray, n_words: int) -> np.ndarray:
    out = np.zeros(n_words, dtype=np.float64)
    for i, g in enumerate(groups[:len(per_token)]):
        if g >= 0:
            out[g] += per_token[i]
    return out


def _share_among_words(grams: np.ndarray, is_word: np.ndarray) -> np.ndarray:
    """Per-token scores from per-n-gram ones: row j of `grams` [T-k+1] is the n-gram of tokens j..j+k-1,
    shared equally among those of its tokens that belong to a word ([CLS], [SEP] and padding are no
    words, so a word next to them takes the whole share of the edge n-gram)."""
    n = len(is_word)
    k = n - len(grams) + 1
    out = np.zeros(n, dtype=np.float64)
    for j, g in enumerate(grams):
        members = np.flatnonzero(is_word[j:j + k]) + j
        if len(members):
            out[members] += g / len(members)
    return out


def text_integrated_gradients(predictor: Predictor, model: torch.nn.Module, text: str, target: int | None = None,
                              n_steps: int = IG_STEPS) -> TextExplanation:
    """Layer integrated gradients of the class probability over the word embeddings of the PyTorch `model`.

    A wide-and-deep model (`TinyBert.ngrams`) also reads the token ids through its n-gram bag:
    the bag's vote tables are integrated along the same path (from the all-[PAD] text to the real
    one), each n-gram's share split equally among its word pieces (an edge n-gram with [CLS] or
    [SEP] goes wholly to its word). Nothing is dropped, so completeness still holds: the word
    scores add up to f(text) − f(all [PAD]) up to the convergence delta.
    """
    import torch
    from captum.attr import LayerIntegratedGradients

    text, enc, truncated = _encode_one(predictor.tokenizer, text)
    ids = torch.tensor([enc.ids], dtype=torch.int64)
    mask = torch.tensor([enc.attention_mask], dtype=torch.int64)
    if target is None:
        out = predictor.run({"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
        target = int(np.argmax(out[0]))
    pad = predictor.tokenizer.token_to_id("[PAD]")
    keep = torch.tensor([enc.special_tokens_mask], dtype=torch.bool) | (mask == 0)
    ref = torch.where(keep, ids, torch.full_like(ids, 0 if pad is None else pad))

    def forward(input_ids, attention_mask):
        return torch.softmax(model(input_ids, attention_mask), dim=-1)

    bag = getattr(model, "ngrams", None)
    layers = [word_embeddings(model)]
    if bag is not None:
        layers += [t for t in (bag.unigram, bag.bigram, bag.trigram) if t is not None]
    with warnings.catch_warnings():                       # captum warns about any list of layers; these are
        warnings.filterwarnings("ignore", message="Multiple layers provided")   # separate tables, none feeds another
        lig = LayerIntegratedGradients(forward, layers)  # a list in, a list of attributions out
    attr, delta = lig.attribute(ids, baselines=ref, additional_forward_args=(mask,), target=target,
                                n_steps=n_steps, internal_batch_size=n_steps, return_convergence_delta=True)
    groups, words = _words(enc, text, len(enc.ids))
    per_token = np.zeros(ids.shape[1], dtype=np.float64)
    for part in attr:                                     # [1, T-k+1, width] per table
        per_token += _share_among_words(part.sum(-1)[0].detach().double().numpy(), groups >= 0)
    with torch.no_grad():
        score = float(forward(ids, mask)[0, target])
        base = float(forward(ref, mask)[0, target])
    return TextExplanation(words=words, scores=_merge(per_token, groups, len(words)), target=target, score=score,
                           baseline_score=base, method=INTEGRATED_GRADIENTS, delta=float(delta.abs().max()),
                           truncated=truncated)


def text_word_ablation(predictor: Predictor, text: str, target: int | None = None) -> TextExplanation:
    """Each word removed in turn (attention mask 0) through ONNX Runtime: the drop of the class probability."""
    import torch
    from captum.attr import FeatureAblation

    text, enc, truncated = _encode_one(predictor.tokenizer, text)
    ids = torch.tensor([enc.ids], dtype=torch.int64)
    mask = np.array([enc.attention_mask], dtype=np.int64)
    pad = predictor.tokenizer.token_to_id("[PAD]")
    pad = 0 if pad is None else pad
    groups, words = _words(enc, text, len(enc.ids))

    def to_feed(input_ids):
        x = input_ids.detach().cpu().numpy().astype(np.int64)
        removed = x == _REMOVED
        return {"input_ids": np.where(removed, pad, x), "attention_mask": np.where(removed, 0, mask).astype(np.int64)}

    forward = OrtForward(predictor, to_feed)
    scores = forward(ids).numpy()
    target = pick_target(scores, predictor.problem, target)
    # group 0: special tokens, never removed (their baseline is themselves); words are groups 1..W
    feature_mask = torch.from_numpy(groups + 1)[None]
    baselines = torch.where(feature_mask > 0, torch.full_like(ids, _REMOVED), ids)
    attr = FeatureAblation(forward).attribute(ids, baselines=baselines, target=target, feature_mask=feature_mask,
                                              perturbations_per_eval=min(32, len(words) + 1))
    per_token = attr[0].detach().double().numpy()
    first = {g: i for i, g in reversed(list(enumerate(groups))) if g >= 0}     # one token per word carries its score
    word_scores = np.array([per_token[first[g]] for g in range(len(words))], dtype=np.float64)
    return TextExplanation(words=words, scores=word_scores, target=target, score=float(scores[0, target]),
                           baseline_score=None, method=WORD_ABLATION, truncated=truncated)


def explain_text(predictor: Predictor, text: str, model: torch.nn.Module | None = None,
                 target: int | None = None) -> TextExplanation:
    """Integrated gradients when a PyTorch `model` is given, else word ablation through ONNX Runtime.

    An ensemble of seeds, which has one embedding table per member, gets word ablation too.
    """
    from bigmodel_core.nn.nets import Ensemble

    if model is not None and not isinstance(model, Ensemble):
        return text_integrated_gradients(predictor, model, text, target)
    return text_word_ablation(predictor, text, target)
