"""Out of distribution: "this doesn't look like what I was trained on", for image models.

A classifier gives one of its labels to any picture, so a digit model calls a photo
of a cat "8" with 97 % confidence. This module scores how unlike its training images
an input is, and says "unfamiliar" above a threshold calibrated on validation images.

The score (`METHOD`) is a multi-layer feature Mahalanobis distance (Lee et al., NeurIPS
2018), computed from ONNX Runtime outputs and numpy only (no torch): the model's graph is
read with `onnx`, its ReLU activations and the input of its last layer become extra
outputs of an in-memory copy (model.onnx itself is never changed), and each layer's
activations (averaged over the picture for a convolution) are compared with one Gaussian
per class with a shared covariance, fitted on training images. The model's input is
"layer 0", summarised as a 7×7 thumbnail per channel plus its shares of dark, dim,
light and bright pixels (`input_summary`): the seed MLP's hidden layers alone miss photos
once the predict page has framed them like a digit, this layer does not. A layer's
distance is standardised by its mean and spread on validation images; the score is the
largest of those over the layers. The threshold is the 95th percentile of the validation
scores, so by design about 5 % of ordinary images are flagged too.

Simpler scores are here as baselines, measured on the same images: the energy score
(−logsumexp of the logits) and the max-softmax score. For the shipped digit CNN they do
worse than chance (photos get larger logits than digits do); docs/benchmarks.md has every
figure. The calibration is stored in the card (`ood`) and in the asset `ood.npz`, and is
made once per shipped model without retraining:
`python -m bigmodel_core build-defaults --ood-only`.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.errors import ModelError
from bigmodel_core.serve.card import ModelCard

if TYPE_CHECKING:
    import onnx

METHOD = "feature-mahalanobis"     # over the input summary and every hidden layer
QUANTILE = 0.95              # share of validation images below the threshold
SHRINK = 0.01                # covariance shrinkage towards its mean variance (keeps it invertible)
FIT_ROWS = 10_000            # training images the Gaussians are fitted on (a seeded sample)
SEED = 0
PARAMS = "ood.npz"           # the model folder's asset with the fitted Gaussians
BATCH = 256
# The far-away dataset each dataset's models are tested against, and how its pictures are turned
# into the model's input (the app's own conversion of an uploaded picture: grey or RGB, resized).
PARTNER = {"mnist": "cifar10-images", "cifar10-images": "mnist"}


# ============================================================================ scores (numpy only)

def energy(logits: np.ndarray) -> np.ndarray:
    """The energy score −logsumexp(logits) per row (Liu et al. 2020): higher = less familiar."""
    z = np.asarray(logits, dtype=np.float64)
    top = z.max(axis=1, keepdims=True)
    return -(top[:, 0] + np.log(np.exp(z - top).sum(axis=1)))


def max_softmax(logits: np.ndarray) -> np.ndarray:
    """Minus the largest class probability per row (Hendrycks & Gimpel 2017): higher = less familiar."""
    from bigmodel_core.serve.outputs import probabilities

    return -probabilities(logits).max(axis=1)


def threshold(scores: np.ndarray, quantile: float = QUANTILE) -> float:
    """The score that `quantile` of in-distribution (validation) scores stay at or below."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0 or not np.isfinite(scores).all():
        raise ValueError("calibration needs finite scores")
    return float(np.quantile(scores, quantile))


def auroc(familiar: np.ndarray, unfamiliar: np.ndarray) -> float:
    """Area under the ROC curve of telling the two sets apart by score (1 = perfect, 0.5 = chance)."""
    from bigmodel_core.serve.metrics import roc_auc

    familiar, unfamiliar = np.asarray(familiar, np.float64), np.asarray(unfamiliar, np.float64)
    truth = np.r_[np.zeros(len(familiar)), np.ones(len(unfamiliar))]
    return roc_auc(truth, np.r_[familiar, unfamiliar])


@dataclass
class Gaussian:
    """Class means [K, D] and a whitening matrix W [D, D] (lower triangular): |(x − μ) W|² = Mahalanobis²."""
    means: np.ndarray
    whiten: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, shrink: float = SHRINK) -> Gaussian:
        """One mean per class present, one covariance shared by all (Lee et al.), shrunk a little."""
        x = np.asarray(features, dtype=np.float64)
        labels = np.asarray(labels)
        classes = np.unique(labels)
        means = np.stack([x[labels == c].mean(axis=0) for c in classes])
        centred = x - means[np.searchsorted(classes, labels)]
        dim = x.shape[1]
        cov = centred.T @ centred / max(1, len(x))
        scale = np.trace(cov) / dim if np.trace(cov) > 0 else 1.0
        cov = (1 - shrink) * cov + (shrink * scale + 1e-12) * np.eye(dim)
        precision = np.linalg.inv(cov)
        whiten = np.linalg.cholesky((precision + precision.T) / 2)          # precision = W Wᵀ
        return cls(means, whiten)

    def distance(self, features: np.ndarray) -> np.ndarray:
        """The squared Mahalanobis distance of each row to its nearest class mean."""
        x = np.asarray(features, dtype=np.float64)
        best = np.full(len(x), np.inf)
        for mean in self.means:                                             # K small passes, little memory
            z = (x - mean) @ self.whiten
            best = np.minimum(best, np.einsum("nd,nd->n", z, z))
        return best


@dataclass
class Detector:
    """The fitted score of one model: a Gaussian per tapped layer, each layer's spread, the threshold."""
    layers: list[str]
    gaussians: list[Gaussian]
    centre: np.ndarray            # [L] mean validation distance per layer
    spread: np.ndarray            # [L] its standard deviation
    threshold: float = float("inf")

    @classmethod
    def fit(cls, layers: list[str], train: list[np.ndarray], labels: np.ndarray, val: list[np.ndarray],
            quantile: float = QUANTILE) -> tuple[Detector, np.ndarray]:
        """Gaussians on training activations, standardisation and threshold on validation ones.

        Returns (detector, the validation scores).
        """
        gaussians = [Gaussian.fit(f, labels) for f in train]
        dist = np.stack([g.distance(f) for g, f in zip(gaussians, val, strict=False)], axis=1)
        spread = dist.std(axis=0)
        det = cls(list(layers), gaussians, dist.mean(axis=0), np.where(spread > 0, spread, 1.0))
        scores = det.score(val)
        det.threshold = threshold(scores, quantile)
        return det, scores

    def score(self, features: list[np.ndarray]) -> np.ndarray:
        """Per input: the largest standardised distance over the layers (higher = less familiar)."""
        dist = np.stack([g.distance(f) for g, f in zip(self.gaussians, features, strict=False)], axis=1)
        return ((dist - self.centre) / self.spread).max(axis=1)

    def to_bytes(self) -> bytes:
        arrays = {"centre": self.centre, "spread": self.spread}
        for i, g in enumerate(self.gaussians):
            arrays[f"means_{i}"] = g.means.astype(np.float32)
            arrays[f"whiten_{i}"] = g.whiten.astype(np.float32)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, layers: list[str], thresh: float) -> Detector:
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            gaussians = [Gaussian(saved[f"means_{i}"].astype(np.float64), saved[f"whiten_{i}"].astype(np.float64))
                         for i in range(len(layers))]
            return cls(list(layers), gaussians, saved["centre"], saved["spread"], float(thresh))


# ============================================================================ ONNX Runtime

INPUT = "input"               # the layer name of the model's own input (summarised by `input_summary`)
GRID = 7                      # input_summary's thumbnail size
LEVELS = (0.1, 0.5, 0.9)      # input_summary's pixel-value bins: dark | dim | light | bright


def input_summary(x: np.ndarray, grid: int = GRID) -> np.ndarray:
    """Model inputs float [N, C, H, W] in 0..1 → [N, C·grid² + 4]: a grid×grid average-pooled thumbnail
    per channel, then the shares of pixel values below 0.1, 0.1–0.5, 0.5–0.9 and from 0.9."""
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape

    def pool(size: int) -> np.ndarray:                   # [grid, size]: averages over near-equal bands
        band = np.minimum(np.arange(size) * grid // size, grid - 1)
        m = (band[None, :] == np.arange(grid)[:, None]).astype(np.float64)
        return m / m.sum(axis=1, keepdims=True)

    thumb = np.einsum("gh,nchw,kw->ncgk", pool(h), x, pool(w)).reshape(n, -1)
    flat = x.reshape(n, -1)
    edges = (-np.inf, *LEVELS, np.inf)
    shares = np.stack([((flat >= lo) & (flat < hi)).mean(axis=1)
                       for lo, hi in zip(edges[:-1], edges[1:], strict=True)], axis=1)
    return np.concatenate([thumb, shares], axis=1)


def tap_names(model: onnx.ModelProto) -> list[str]:
    """The layers the score uses: the input, every ReLU output, and the input of the last layer."""
    graph = model.graph
    names = [INPUT] + [node.output[0] for node in graph.node if node.op_type == "Relu"]
    output = graph.output[0].name
    last = next((node for node in graph.node if output in node.output), None)
    if last is not None and last.op_type in ("Gemm", "MatMul") and last.input[0] not in names:
        names.append(last.input[0])
    return names


class Tapped:
    """An ONNX Runtime session of a model file with its hidden activations as extra outputs."""

    def __init__(self, onnx_path: Path, layers: list[str] | None = None, device: str = "auto",
                 threads: int | None = None):
        import onnx

        from bigmodel_core.serve.runtime import make_session

        try:
            model = onnx.load(str(onnx_path))
        except Exception as exc:  # noqa: BLE001 - onnx raises several types for a bad file
            raise ModelError(f"Could not read {Path(onnx_path).name} for the familiarity check.") from exc
        self.layers = list(layers) if layers is not None else tap_names(model)
        produced = {out for node in model.graph.node for out in node.output}
        missing = [name for name in self.layers if name not in produced and name != INPUT]
        if missing or not self.layers:
            raise ModelError("The model's layers do not match its familiarity calibration.",
                             hint="calibrate again: python -m bigmodel_core build-defaults --ood-only")
        outputs = {o.name for o in model.graph.output}
        self.hidden = [name for name in self.layers if name != INPUT]
        for name in self.hidden:
            if name not in outputs:
                model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        self.session, self.provider = make_session(model.SerializeToString(), device=device, threads=threads)
        self.input_name = self.session.get_inputs()[0].name
        self.names = [model.graph.output[0].name] + self.hidden

    def run(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """(logits [N, K], one [N, D] activation matrix per layer) for model inputs float32 [N, C, H, W]."""
        logits, layers = [], {name: [] for name in self.layers}
        for start in range(0, len(x), BATCH):
            batch = np.ascontiguousarray(x[start:start + BATCH], dtype=np.float32)
            outs = self.session.run(self.names, {self.input_name: batch})
            logits.append(outs[0])
            for name, out in zip(self.hidden, outs[1:], strict=False):
                layers[name].append(out.mean(axis=(2, 3)) if out.ndim == 4 else out.reshape(len(out), -1))
            if INPUT in layers:
                layers[INPUT].append(input_summary(batch))
        return (np.concatenate(logits).astype(np.float64),
                [np.concatenate(layers[name]).astype(np.float64) for name in self.layers])


def model_inputs(images: np.ndarray, spec: dict) -> np.ndarray:
    """uint8 pictures [N, C, H, W] → the model's float input, converted as the app converts an upload.

    A colour photo given to a grey model becomes grey (ITU-R 601 luma), a grey digit given to a
    colour model gets three equal channels, and both are resized (bilinear) to the model's size.
    """
    from bigmodel_core.serve.preprocess import prepare_images, uint8_to_float

    c, h, w = spec["channels"], spec["height"], spec["width"]
    if images.shape[1:] == (c, h, w) and not spec.get("invert"):
        return uint8_to_float(images)
    return prepare_images(list(images), spec)


# ============================================================================ at prediction time

@dataclass(frozen=True)
class Verdict:
    score: float
    threshold: float

    @property
    def unfamiliar(self) -> bool:
        return self.score > self.threshold

    def to_json(self) -> dict:
        return {"ood_score": round(self.score, 4), "ood_threshold": round(self.threshold, 4),
                "unfamiliar": self.unfamiliar}


def calibrated(card: ModelCard) -> bool:
    """Whether the card carries a familiarity calibration made for this very model file."""
    info = card.ood
    return bool(isinstance(info, dict) and info.get("method") == METHOD and info.get("layers")
                and info.get("model_sha256") == card.sha256)


class Checker:
    """The familiarity check of one registry model: ONNX Runtime and numpy, no torch."""

    def __init__(self, folder: Path, card: ModelCard, device: str = "auto", threads: int | None = None):
        if not calibrated(card):
            raise ModelError(f"{card.id} has no familiarity calibration.",
                             hint="python -m bigmodel_core build-defaults --ood-only")
        info = card.ood
        folder = Path(folder)
        try:
            data = (folder / info.get("params", PARAMS)).read_bytes()
            self.detector = Detector.from_bytes(data, info["layers"], info["threshold"])
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"The familiarity calibration of {card.id} cannot be read.",
                             hint="python -m bigmodel_core build-defaults --ood-only") from exc
        self.tapped = Tapped(folder / "model.onnx", info["layers"], device=device, threads=threads)

    def scores(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(logits, familiarity scores) for model inputs float32 [N, C, H, W]."""
        logits, layers = self.tapped.run(x)
        return logits, self.detector.score(layers)

    def check(self, x: np.ndarray) -> list[Verdict]:
        _, scores = self.scores(x)
        return [Verdict(float(s), self.detector.threshold) for s in scores]


# ============================================================================ calibration and measurement

def _fit_rows(ds, seed: int = SEED, size: int = FIT_ROWS) -> np.ndarray:
    rows = np.asarray(ds.split["train"])
    if len(rows) > size:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=size, replace=False))
    return rows


def _partner_images(dataset_id: str) -> np.ndarray:
    from bigmodel_core.data.loaders import load_dataset

    other = load_dataset(PARTNER[dataset_id], seed=0)
    return other.images[other.split["test"]]


def measure(tapped: Tapped, detector: Detector, familiar: np.ndarray, unfamiliar: np.ndarray, spec: dict) -> dict:
    """AUROC of the score (and of the energy and max-softmax baselines) between two sets of uint8 pictures."""
    logits_in, layers_in = tapped.run(model_inputs(familiar, spec))
    logits_out, layers_out = tapped.run(model_inputs(unfamiliar, spec))
    ours_in, ours_out = detector.score(layers_in), detector.score(layers_out)
    return {
        "auroc": round(auroc(ours_in, ours_out), 5),
        "flagged_familiar": round(float(np.mean(ours_in > detector.threshold)), 4),
        "caught_unfamiliar": round(float(np.mean(ours_out > detector.threshold)), 4),
        "familiar_rows": int(len(familiar)), "unfamiliar_rows": int(len(unfamiliar)),
        "baselines": {
            "energy": round(auroc(energy(logits_in), energy(logits_out)), 4),
            "max_softmax": round(auroc(max_softmax(logits_in), max_softmax(logits_out)), 4),
        },
    }


def calibrate(model_id: str, root: Path | None = None, threads: int | None = None,
              log: Callable[[str], object] = print) -> dict:
    """Fit and store a shipped image model's familiarity check (no retraining), and measure its AUROC.

    Fits on (up to FIT_ROWS) training images of the card's own split, sets the threshold on its
    validation images, measures the AUROC between its test images and the partner dataset's test
    images, then writes `ood.npz` and the card's `ood` field through `registry.update`.
    """
    from bigmodel_core.data.loaders import load_dataset
    from bigmodel_core.serve import registry

    entry = registry.load(model_id, root)
    card = entry.card
    if card.task != "image" or card.dataset not in PARTNER:
        raise ModelError(f"{entry.id} is not an image model of {' or '.join(PARTNER)}.")
    ds = load_dataset(card.dataset, **card.split_args())
    spec = card.preprocessing
    tapped = Tapped(entry.folder / "model.onnx", device="cpu", threads=threads)
    fit = _fit_rows(ds)
    log(f"[{entry.id}] activations of {len(fit):,} training and {len(ds.split['val']):,} validation images")
    _, train = tapped.run(model_inputs(ds.images[fit], spec))
    _, val = tapped.run(model_inputs(ds.images[ds.split["val"]], spec))
    detector, _ = Detector.fit(tapped.layers, train, ds.labels[fit], val)
    log(f"[{entry.id}] AUROC: {len(ds.split['test']):,} test images vs {PARTNER[card.dataset]} test images")
    result = measure(tapped, detector, ds.images[ds.split["test"]], _partner_images(card.dataset), spec)
    info = {
        "method": METHOD, "layers": tapped.layers, "params": PARAMS, "threshold": round(detector.threshold, 6),
        "quantile": QUANTILE, "model_sha256": card.sha256,
        "fit": {"split": "train", "rows": int(len(fit)), "seed": SEED, "shrink": SHRINK},
        "calibrated_on": {"split": "val", "rows": int(len(ds.split["val"]))},
        "auroc": dict(result, familiar=f"{card.dataset} test", unfamiliar=f"{PARTNER[card.dataset]} test",
                      converted=f"{spec['channels']}×{spec['height']}×{spec['width']}"),
    }
    assets = sorted(set(card.assets or []) | {PARAMS})
    registry.update(entry.id, {"ood": info, "assets": assets}, {PARAMS: detector.to_bytes()}, root=root)
    log(f"[{entry.id}] threshold {detector.threshold:.3f}; AUROC {result['auroc']:.4f} "
        f"(energy {result['baselines']['energy']:.4f}, max-softmax {result['baselines']['max_softmax']:.4f})")
    return dict(id=entry.id, **info)


def calibrate_all(only: list[str] | None = None, root: Path | None = None,
                  log: Callable[[str], object] = print) -> list[dict]:
    """Calibrate every shipped image model of MNIST or CIFAR-10 (or those in `only`)."""
    from bigmodel_core.errors import DataError
    from bigmodel_core.serve import registry

    entries, _ = registry.list_models(root, verify=False)
    chosen = [e for e in entries if e.card.shipped and e.card.task == "image"
              and e.card.dataset in PARTNER and (not only or e.id in only)]
    unknown = sorted(set(only or ()) - {e.id for e in chosen})
    if unknown:
        raise DataError(f"No shipped MNIST or CIFAR-10 image model called {', '.join(unknown)}.")
    return [calibrate(e.id, root=root, log=log) for e in chosen]


def remeasure(model_id: str, root: Path | None = None, threads: int | None = None) -> dict:
    """Measure a calibrated model's AUROC again from its stored calibration (what a test checks)."""
    from bigmodel_core.data.loaders import load_dataset
    from bigmodel_core.serve import registry

    entry = registry.load(model_id, root)
    card = entry.card
    checker = Checker(entry.folder, card, device="cpu", threads=threads)
    ds = load_dataset(card.dataset, **card.split_args())
    return measure(checker.tapped, checker.detector, ds.images[ds.split["test"]],
                   _partner_images(card.dataset), card.preprocessing)
