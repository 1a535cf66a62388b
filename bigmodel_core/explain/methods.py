"""Why did the model say that? Explanations with captum and scikit-learn, for every registry model (no Streamlit).

What runs, and why (each result names its `method`, so a page can say which one ran):

- **images** — captum `Occlusion` through ONNX Runtime, for every image model (with or without
  `weights.safetensors`, fp32 or int8): a square patch of about a seventh of the picture's side,
  filled with the training mean colour (black where the card has none), slides over the picture
  with a stride of half a patch; each pixel gets the average drop of the explained class's
  probability while it is hidden (captum averages overlapping windows). Positive = this region
  supports the class. Chosen over gradient saliency because it needs no PyTorch weights, explains
  the very file that serves the predictions, and gives smooth maps a person can read; about 200
  small batched ONNX runs, well under a second on two CPU cores.
- **texts** — with PyTorch weights (tiny BERT, MiniLM trained here): captum
  `LayerIntegratedGradients` over the word-embedding layer, 32 Gauss-Legendre steps, from a
  baseline in which every real token is `[PAD]` (`[CLS]`, `[SEP]` and the attention mask kept).
  Completeness holds: the attributions add up to f(text) − f(baseline) up to captum's
  convergence delta, which is returned. A wide-and-deep model's n-gram vote tables are integrated
  along the same path (an n-gram's share split among its word pieces), so completeness still
  holds for the whole model; an ensemble gets word removal. Without weights (the pre-trained MiniLM shipped as ONNX
  only, int8 copies): captum `FeatureAblation` through ONNX Runtime — each word is removed in
  turn (its attention-mask entries set to 0) and scored by the drop in probability. Sub-word
  pieces are summed into the words as typed (a Chinese character is a word).
- **tables** — model level: scikit-learn `permutation_importance` through ONNX Runtime on the
  card's evaluation split (at most 500 rows, 3 repeats): the drop of the card's primary metric
  (R², ROC-AUC or accuracy) when one input column is shuffled; a categorical column moves as one
  (all its one-hot features together). Prediction level: captum `ShapleyValueSampling` over the
  input columns against a baseline row (training mean for numbers, most common category for
  categories), through the saved encoder and ONNX Runtime; the contributions add up to
  prediction − baseline prediction exactly (every sampled ordering telescopes).

Classification explains the probability (0..1) of one class — the predicted one unless `target`
is given; regression explains the predicted value in the target's units.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bigmodel_core.errors import DataError, ModelError

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch

    from bigmodel_core.serve.preprocess import TabularEncoder
    from bigmodel_core.serve.runtime import Predictor

OCCLUSION = "occlusion"
INTEGRATED_GRADIENTS = "integrated-gradients"
WORD_ABLATION = "word-ablation"
PERMUTATION = "permutation-importance"
SHAPLEY = "shapley-sampling"

IG_STEPS = 32
MAX_ROWS = 500              # rows used for permutation importance
REPEATS = 3                 # shuffles per column
SHAPLEY_SAMPLES = 24        # sampled orderings of the columns
_REMOVED = -1               # token id that means "this word is removed" in the ablation forward


# ============================================================================ results

@dataclass
class ImageExplanation:
    heatmap: np.ndarray           # [H, W]: drop of the class score while the pixel is hidden
    target: int                   # class index explained (0 for regression)
    score: float                  # the class probability (or value) for the full picture
    method: str = OCCLUSION
    window: int = 0
    stride: int = 0


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


@dataclass
class TabularContributions:
    features: list[str]           # input columns
    values: list                  # this row's values
    baseline_values: list         # the baseline row's values
    contributions: np.ndarray     # [F], adds up to prediction − baseline_prediction
    prediction: float             # class probability or value for this row
    baseline_prediction: float
    target: int | None            # class index (None for regression)
    method: str = SHAPLEY


@dataclass
class FeatureImportance:
    features: list[str]           # input columns
    mean: np.ndarray              # [F] drop of the metric when the column is shuffled
    std: np.ndarray               # [F] across repeats
    metric: str                   # r2 | roc_auc | accuracy
    score: float                  # the metric on the unshuffled rows
    split: str
    rows: int
    repeats: int
    method: str = PERMUTATION
    notes: list[str] = field(default_factory=list)

    def ranking(self) -> list[str]:
        return [self.features[i] for i in np.argsort(-self.mean)]


# ============================================================================ ONNX Runtime as a captum forward

class OrtForward:
    """A captum forward function over a `Predictor`'s ONNX Runtime session: torch tensors in, torch scores out.

    `to_feed(*tensors)` builds the ONNX feed (default: the first input is the tensor as float32).
    No gradients flow through it, so it serves perturbation methods (occlusion, ablation, Shapley).
    """

    def __init__(self, predictor: Predictor, to_feed: Callable[..., dict[str, np.ndarray]] | None = None):
        self.predictor, self.to_feed = predictor, to_feed
        self.calls = 0

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        import torch

        if self.to_feed is not None:
            feed = self.to_feed(*tensors)
        else:
            feed = {self.predictor.input_names[0]: np.ascontiguousarray(tensors[0].detach().cpu().numpy(),
                                                                         dtype=np.float32)}
        self.calls += 1
        return torch.from_numpy(self.predictor.scores_of(feed))


def _pick_target(scores: np.ndarray, problem: str, target: int | None) -> int | None:
    if problem == "regression":
        return None
    return int(np.argmax(scores[0])) if target is None else int(target)


# ============================================================================ PyTorch model (when weights are kept)

def load_torch_model(folder: Path, card: dict) -> torch.nn.Module | None:
    """The PyTorch model rebuilt from `weights.safetensors` in eval mode, or None when it cannot be.

    A regression model whose card gives a `target_range` comes back clamped to it, as its ONNX
    graph is (`nets.ClampOutput`), so the two answer alike.

    None when the folder keeps no weights (shipped ONNX-only and int8 models) or the
    architecture cannot be rebuilt on this machine (MiniLM without its config files).
    """
    weights = Path(folder) / (card.get("weights") or "weights.safetensors")
    if not card.get("weights") or not weights.exists() or card.get("quantized_from"):
        return None
    try:
        from safetensors.torch import load_file

        from bigmodel_core.nn.zoo import build_model

        model = build_model(card["architecture"], dict(card["arch_config"], pretrained=False))
        model.load_state_dict(load_file(str(weights)))
    except (ModelError, KeyError, OSError, RuntimeError, ValueError):   # ValueError: a card naming no known option
        return None
    from bigmodel_core.nn.nets import clamp_to_range

    return clamp_to_range(model.eval(), card.get("target_range"))


def word_embeddings(model: torch.nn.Module) -> torch.nn.Module:
    """The token-embedding layer of a text model (tiny BERT or MiniLM)."""
    for name, module in model.named_modules():
        if name.endswith("word_embeddings"):
            return module
    raise ModelError("This text model has no word-embedding layer to attribute to.")


# ============================================================================ images

def occlusion_window(height: int, width: int) -> tuple[int, int]:
    """(window, stride): a patch of about 1/7 of the shorter side (at least 2 pixels), stride half of it."""
    window = max(2, int(round(min(height, width) / 7)))
    return window, max(1, window // 2)


def image_occlusion(predictor: Predictor, x: np.ndarray, target: int | None = None, window: int | None = None,
                    stride: int | None = None) -> ImageExplanation:
    """Occlusion map of one picture `x` (float [C, H, W] in 0..1, as the model sees it) → [H, W]."""
    import torch
    from captum.attr import Occlusion

    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        raise DataError(f"Expected one picture [C, H, W], got shape {x.shape}.")
    c, h, w = x.shape
    auto_w, auto_s = occlusion_window(h, w)
    window, stride = window or auto_w, stride or auto_s
    forward = OrtForward(predictor)
    inp = torch.from_numpy(x[None])
    scores = forward(inp).numpy()
    target = _pick_target(scores, predictor.problem, target)
    mean = (predictor.card.get("preprocessing") or {}).get("mean")
    fill = np.asarray(mean if mean is not None and len(mean) == c else [0.0] * c, dtype=np.float32)
    baseline = torch.from_numpy(np.broadcast_to(fill[:, None, None], (c, h, w)).copy()[None])
    attr = Occlusion(forward).attribute(inp, sliding_window_shapes=(c, window, window), strides=(c, stride, stride),
                                        baselines=baseline, target=target, perturbations_per_eval=64)
    heat = attr[0].sum(0).detach().numpy().astype(np.float64) / c        # [H, W]: same value in every channel
    score = float(scores[0] if target is None else scores[0, target])
    return ImageExplanation(heatmap=heat, target=target or 0, score=score, window=window, stride=stride)


# ============================================================================ texts

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
    target = _pick_target(scores, predictor.problem, target)
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


# ============================================================================ tables

def _card_features(card: dict) -> dict[str, dict]:
    return {f["name"]: f for f in (card.get("preprocessing") or {}).get("features", [])}


def baseline_row(encoder: TabularEncoder, card: dict) -> dict:
    """Training mean for numeric columns, the most common training category for categorical ones."""
    spec = _card_features(card)
    row = {}
    for col in encoder.columns:
        if col in encoder.numeric:
            row[col] = float(encoder.numeric[col]["mean"])
        else:
            cats = encoder.categorical[col]
            default = str(spec.get(col, {}).get("default", cats[0] if cats else ""))
            row[col] = default if default in cats or not cats else cats[0]
    return row


def _row_dict(row) -> dict:
    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise DataError(f"Expected one row to explain, got {len(row)}.")
        return row.iloc[0].to_dict()
    if isinstance(row, pd.Series):
        return row.to_dict()
    return dict(row)


def _codes(encoder, row: dict) -> np.ndarray:
    """One raw row → float64 [F]: numbers as they are, categories as their index (-1 when unknown)."""
    from bigmodel_core.serve.preprocess import category_strings

    out = np.zeros(len(encoder.columns), dtype=np.float64)
    for j, col in enumerate(encoder.columns):
        if col not in row:
            raise DataError(f"Missing feature column: {col}.", hint=f"the model expects: {', '.join(encoder.columns)}")
        if col in encoder.numeric:
            v = pd.to_numeric(pd.Series([row[col]]), errors="coerce").iloc[0]
            out[j] = encoder.numeric[col]["median"] if pd.isna(v) else float(v)
        else:
            cats = encoder.categorical[col]
            value = category_strings(pd.Series([row[col]], dtype=object))[0]
            out[j] = cats.index(value) if value in cats else -1
    return out


def _decode(encoder, codes: np.ndarray) -> pd.DataFrame:
    """float [N, F] codes → the raw DataFrame the encoder reads."""
    data = {}
    for j, col in enumerate(encoder.columns):
        if col in encoder.numeric:
            data[col] = codes[:, j]
        else:
            cats = encoder.categorical[col]
            data[col] = [cats[int(k)] if 0 <= int(k) < len(cats) else "\x00unknown" for k in np.round(codes[:, j])]
    return pd.DataFrame(data, columns=encoder.columns)


def tabular_forward(predictor: Predictor) -> OrtForward:
    """Raw-column codes [N, F] → encoder → ONNX Runtime → class probabilities or values."""
    enc = predictor.encoder
    return OrtForward(predictor, lambda codes: {predictor.input_names[0]: enc.transform(
        _decode(enc, codes.detach().cpu().numpy().astype(np.float64)))})


def tabular_contributions(predictor: Predictor, row: dict | pd.Series | pd.DataFrame, target: int | None = None,
                          n_samples: int = SHAPLEY_SAMPLES,
                          seed: int = 0) -> TabularContributions:
    """Shapley value sampling of one row against the baseline row; contributions sum to pred − baseline pred."""
    import torch
    from captum.attr import ShapleyValueSampling

    enc = predictor.encoder
    row = _row_dict(row)
    base = baseline_row(enc, predictor.card)
    x = torch.from_numpy(_codes(enc, row)[None])
    b = torch.from_numpy(_codes(enc, base)[None])
    forward = tabular_forward(predictor)
    both = forward(torch.cat([x, b])).numpy()
    target = _pick_target(both[:1], predictor.problem, target)
    pred = float(both[0] if target is None else both[0, target])
    base_pred = float(both[1] if target is None else both[1, target])
    torch.manual_seed(seed)
    attr = ShapleyValueSampling(forward).attribute(x, baselines=b, target=target, n_samples=n_samples,
                                                   perturbations_per_eval=max(1, len(enc.columns)))
    values = [row[c] for c in enc.columns]
    return TabularContributions(features=list(enc.columns), values=values,
                                baseline_values=[base[c] for c in enc.columns],
                                contributions=attr[0].detach().double().numpy(), prediction=pred,
                                baseline_prediction=base_pred, target=target)


class OrtEstimator:
    """The scikit-learn estimator protocol over a Predictor (the model is trained already: `fit` does nothing)."""

    def __init__(self, predictor: Predictor):
        self.predictor = predictor

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> OrtEstimator:  # noqa: N803 - scikit-learn's names
        return self

    def predict_scores(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        return self.predictor.raw(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        out = self.predict_scores(X)
        return out if self.predictor.problem == "regression" else out.argmax(axis=1)


def _scorer(problem: str, y: np.ndarray, n_classes: int):
    """(metric name, scorer(estimator, X, y)) for the card's primary metric on these rows."""
    from sklearn import metrics as skm

    from bigmodel_core.serve.metrics import primary_metric

    metric = primary_metric(problem, n_classes or None)
    if metric == "roc_auc" and len(np.unique(y)) < 2:
        metric = "accuracy"

    def score(estimator, X, y_true):  # noqa: N803
        out = estimator.predict_scores(X)
        if metric == "r2":
            return float(skm.r2_score(y_true, out))
        if metric == "roc_auc":
            return float(skm.roc_auc_score(y_true, out[:, 1]))
        return float(skm.accuracy_score(y_true, out.argmax(axis=1)))
    return metric, score


def permutation_importances(predictor: Predictor, frame: pd.DataFrame, y: np.ndarray, split: str = "test",
                            n_repeats: int = REPEATS,
                            max_rows: int = MAX_ROWS, seed: int = 0) -> FeatureImportance:
    """scikit-learn `permutation_importance` of the raw input columns, through the encoder and ONNX Runtime."""
    from bigmodel_core.warm import SKLEARN, preload

    preload(SKLEARN)
    from sklearn.inspection import permutation_importance

    columns = list(predictor.encoder.columns)
    y = np.asarray(y)
    if len(frame) != len(y) or len(y) < 2:
        raise DataError("Permutation importance needs at least two rows with targets.")
    notes = []
    if len(y) > max_rows:
        pick = np.sort(np.random.default_rng(seed).choice(len(y), size=max_rows, replace=False))
        frame, y = frame.iloc[pick], y[pick]
        notes.append(f"{max_rows} rows sampled")
    X = frame[columns].reset_index(drop=True)  # noqa: N806
    est = OrtEstimator(predictor)
    y = y.astype(np.float64 if predictor.problem == "regression" else np.int64)
    metric, scorer = _scorer(predictor.problem, y, len(predictor.labels))
    result = permutation_importance(est, X, y, scoring=scorer, n_repeats=n_repeats, random_state=seed)
    return FeatureImportance(features=columns, mean=np.asarray(result.importances_mean, dtype=np.float64),
                             std=np.asarray(result.importances_std, dtype=np.float64), metric=metric,
                             score=float(scorer(est, X, y)), split=split, rows=len(y), repeats=n_repeats, notes=notes)


def evaluation_rows(card: dict, split: str | None = None) -> tuple[pd.DataFrame, np.ndarray, str]:
    """(feature frame, targets, split name) of the split the card was evaluated on (as `evaluation.evaluate` loads it).

    Without the full dataset on this machine, the test rows are the model's built-in examples.
    """
    from bigmodel_core.serve.examples import dataset_or_examples

    info = card.get("split") or {}
    split = split or info.get("evaluated_on", "test")
    data = dataset_or_examples(card["dataset"], seed=info.get("seed", 0), max_rows=info.get("max_rows")).dataset
    if type(data).__name__ != "TabularDataset":
        raise DataError(f"The dataset '{card['dataset']}' is not a table.")
    if split not in data.split:
        raise DataError(f"No split '{split}'.", hint="use train, val or test")
    frame, y = data.subset(split)
    return frame, y, split


def model_importances(predictor: Predictor, split: str | None = None, **kwargs: Any) -> FeatureImportance:
    """Permutation importance of a registry model on its card's evaluation split (DataError if the data is absent)."""
    frame, y, split = evaluation_rows(predictor.card, split)
    return permutation_importances(predictor, frame, y, split=split, **kwargs)
