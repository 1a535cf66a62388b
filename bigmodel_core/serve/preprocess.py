"""Input preparation shared by training and ONNX Runtime inference (numpy only, no torch).

- images: any PIL-readable picture → float32 [N, C, H, W] in [0, 1] at the model's size;
- texts: a saved `tokenizer.json` → int64 `input_ids` / `attention_mask`;
- tables: `TabularEncoder` (median imputation, standardisation, one-hot) fitted on
  the training split and saved as JSON next to the model.
What a model needs is written into its card's `preprocessing` field.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bigmodel_core.data.limits import MAX_UPLOAD_BYTES, too_large_message
from bigmodel_core.errors import DataError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import BinaryIO

    from PIL import Image
    from tokenizers import Tokenizer

    # a picture as the app and the CLI get it
    ImageSource = str | Path | bytes | BinaryIO | Image.Image | np.ndarray

MAX_IMAGE_PIXELS = 40_000_000       # refuse decompression bombs before decoding
MAX_TEXT_CHARS = 20_000              # longer texts are cut (the tokenizer truncates further)


# ----------------------------------------------------------------------------- images

def load_image(source: ImageSource, channels: int) -> Image.Image:
    """Open a path, bytes, file object, PIL image or uint8 array as a PIL image in L or RGB."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    if isinstance(source, Image.Image):
        img = source
    elif isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
            arr = arr.transpose(1, 2, 0)                  # CHW → HWC
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.dtype != np.uint8:
            arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr)
    else:
        if isinstance(source, (bytes, bytearray)):
            if len(source) > MAX_UPLOAD_BYTES:
                raise DataError(too_large_message(len(source), "The image file"), hint="use a smaller picture")
            source = io.BytesIO(source)
        elif (isinstance(source, (str, Path)) and Path(source).is_file()
              and Path(source).stat().st_size > MAX_UPLOAD_BYTES):
            raise DataError(too_large_message(Path(source).stat().st_size, "The image file"),
                            hint="use a smaller picture")
        try:
            img = Image.open(source)
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise DataError(f"The image is too large ({img.width}×{img.height} pixels).",
                                hint="use a picture under 40 megapixels")
            img.load()
            img = ImageOps.exif_transpose(img)              # phone photos: honour the EXIF rotation
        except DataError:
            raise
        except FileNotFoundError as exc:
            raise DataError(f"Image file not found: {source}", hint="check the path") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise DataError("This file is not a readable image (or it is truncated).",
                            hint="upload a PNG or JPEG picture") from exc
        except Image.DecompressionBombError as exc:
            raise DataError("The image is too large to decode safely.",
                            hint="use a picture under 40 megapixels") from exc
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):        # 16-bit: full scale is 65535, as in 8-bit 255
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(arr / 65535.0 * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("L" if channels == 1 else "RGB")


def prepare_images(sources: Iterable[ImageSource], spec: dict) -> np.ndarray:
    """Pictures → float32 [N, C, H, W] in [0, 1], resized to the model's input size.

    `spec`: {"channels": 1|3, "height": H, "width": W, "invert": bool}. `invert` turns
    dark-on-light drawings into MNIST's light-on-dark convention.
    """
    from PIL import Image

    c, h, w = spec["channels"], spec["height"], spec["width"]
    out = np.empty((len(sources), c, h, w), dtype=np.float32)
    for i, src in enumerate(sources):
        img = load_image(src, c)
        if img.size != (w, h):
            img = img.resize((w, h), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.float32) / 255.0      # [H, W] or [H, W, 3]
        if spec.get("invert"):
            arr = 1.0 - arr
        out[i] = arr[None] if c == 1 else arr.transpose(2, 0, 1)
    return out


def uint8_to_float(images: np.ndarray) -> np.ndarray:
    """Dataset tensors (uint8 [N, C, H, W]) → float32 in [0, 1]."""
    return images.astype(np.float32) / 255.0


# ----------------------------------------------------------------------------- texts

def clean_texts(texts: Iterable[str | None]) -> tuple[list[str], list[str]]:
    """Strip texts, refuse empty ones, cut very long ones. Returns (texts, notices)."""
    cleaned, notices = [], []
    for t in texts:
        t = "" if t is None else str(t).strip()
        if not t:
            raise DataError("The text is empty.", hint="type a sentence to classify")
        if len(t) > MAX_TEXT_CHARS:
            notices.append(f"A text of {len(t):,} characters was cut to {MAX_TEXT_CHARS:,}.")
            t = t[:MAX_TEXT_CHARS]
        cleaned.append(t)
    return cleaned, notices


def encode_texts(tokenizer: Tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    """Tokenise a batch: {"input_ids": int64 [N, T], "attention_mask": int64 [N, T]}."""
    enc = tokenizer.encode_batch(list(texts))
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    return {"input_ids": ids, "attention_mask": mask}


def load_tokenizer(path: Path) -> Tokenizer:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(path))


# ----------------------------------------------------------------------------- tables

def category_strings(values: pd.Series) -> list[str]:
    """Categories as text, with whole numbers written alike whether pandas read them as int or float.

    A blank cell turns an integer column into floats (1 → 1.0); '1' and '1.0' must stay one category.
    """
    out = []
    for v in values.tolist():
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.append(str(v))
    return out


def _bin_edges(values: np.ndarray, bins: int) -> list[float]:
    """Distinct training quantiles 0, 1/bins, …, 1 (fewer for columns with few distinct values)."""
    edges = np.unique(np.quantile(np.asarray(values, dtype=np.float64), np.linspace(0, 1, bins + 1)))
    return [float(e) for e in edges]


def _tree_bin_edges(values: np.ndarray, target: np.ndarray, bins: int, regression: bool) -> list[float]:
    """Bin edges where a depth-limited decision tree on this one column splits the target.

    The "target-aware" bins of Gorishniy et al. (2022): edges fall on the thresholds that
    matter (a machine fails above 9,000 W), not on quantiles, which are coarse in the tails
    where such thresholds usually lie. Always includes the column's minimum and maximum.
    """
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    v = np.asarray(values, dtype=np.float64)
    tree_cls = DecisionTreeRegressor if regression else DecisionTreeClassifier
    tree = tree_cls(max_leaf_nodes=max(2, bins), min_samples_leaf=max(1, len(v) // 1000), random_state=0)
    tree.fit(v[:, None], target)
    inner = tree.tree_.threshold[tree.tree_.feature >= 0]                  # split points (leaves are -2)
    return [float(e) for e in np.unique(np.concatenate([[v.min(), v.max()], inner]))]


def _piecewise_linear(v: np.ndarray, edges: list[float]) -> np.ndarray:
    """[N] values → [N, len(edges) - 1]: 0 below each bin, 1 above it, linear inside."""
    if len(edges) < 2:
        return np.zeros((len(v), 0))
    e = np.asarray(edges)
    lo, width = e[:-1], np.diff(e)                                        # [B], [B]
    return np.clip((v[:, None] - lo[None, :]) / width[None, :], 0.0, 1.0)  # [N, B]


@dataclass
class TabularEncoder:
    """Numeric: fill NaN with the training median, standardise. Categorical: one-hot of known values.

    Derived features (optional) are products or differences of two numeric inputs —
    domain knowledge such as mechanical power = torque × speed — computed from the
    (imputed) raw values and standardised like the others. A person still enters
    only the raw columns; the encoder adds the derived ones after them.

    Piecewise-linear encoding (optional, `bins` > 0; Gorishniy et al. 2022, "On
    embeddings for numerical features in tabular deep learning") adds, for every
    numeric and derived value, one feature per training-quantile bin: 0 below the
    bin, 1 above it, linear inside. It lets a small MLP draw the sharp thresholds
    that trees find easily (a machine fails when tool wear passes 200 minutes). The bin
    edges are training quantiles, or (`bin_edges="tree"`) the thresholds a small decision
    tree finds between that one value and the training target.
    """

    numeric: dict[str, dict] = field(default_factory=dict)       # col -> {median, mean, std, min, max}
    categorical: dict[str, list] = field(default_factory=dict)   # col -> categories (as strings)
    columns: list[str] = field(default_factory=list)             # feature columns in input order
    derived: list[dict] = field(default_factory=list)            # {name, op, columns: [a, b], mean, std}
    bins: int = 0                                                # piecewise-linear bins per numeric value

    OPS = {"product": np.multiply, "difference": np.subtract}

    @classmethod
    def fit(cls, frame: pd.DataFrame, feature_types: dict[str, str], derived: list[dict] | None = None,
            bins: int = 0, bin_edges: str = "quantile", target: np.ndarray | None = None,
            regression: bool = False) -> TabularEncoder:
        """`bin_edges="tree"` needs `target` (the training rows' target values, in `frame`'s order)."""
        if bin_edges not in ("quantile", "tree"):
            raise DataError(f"Unknown bin edges '{bin_edges}'.", hint="choose quantile or tree")
        if bin_edges == "tree" and bins and (target is None or len(target) != len(frame)):
            raise DataError("Tree bin edges need the training target.", hint="pass target= with one value per row")
        enc = cls(columns=list(feature_types), bins=int(bins))

        def edges(values: np.ndarray, keep: np.ndarray | None = None) -> list[float]:
            if bin_edges == "quantile":
                return _bin_edges(values, enc.bins)
            y = np.asarray(target) if keep is None else np.asarray(target)[keep]
            return _tree_bin_edges(values, y, enc.bins, regression)

        for d in derived or []:
            a, b = d.get("columns", [None, None])
            if d.get("op") not in cls.OPS or feature_types.get(a) != "numeric" or feature_types.get(b) != "numeric":
                numeric = ", ".join(c for c, k in feature_types.items() if k == "numeric")
                raise DataError(f"Cannot derive '{d.get('name')}': it needs op product|difference of two "
                                "numeric columns.", hint=f"numeric columns: {numeric}")
        for col, kind in feature_types.items():
            if kind == "numeric":
                values = pd.to_numeric(frame[col], errors="coerce").astype(float)
                finite = np.isfinite(values.to_numpy())
                values = values[finite]
                if values.empty:
                    raise DataError(f"Column '{col}' has no numeric values.", hint="drop it or mark it categorical")
                std = float(values.std(ddof=0))
                enc.numeric[col] = dict(median=float(values.median()), mean=float(values.mean()),
                                        std=std if std > 1e-12 else 1.0,
                                        min=float(values.min()), max=float(values.max()))
                if enc.bins:
                    enc.numeric[col]["edges"] = edges(values.to_numpy(), finite)
            else:
                enc.categorical[col] = sorted(set(category_strings(frame[col].dropna())))
        for d in derived or []:
            v = enc._derive(frame, d)
            std = float(v.std())
            enc.derived.append(dict(name=str(d["name"]), op=d["op"], columns=list(d["columns"]),
                                    mean=float(v.mean()), std=std if std > 1e-12 else 1.0))
            if enc.bins:
                enc.derived[-1]["edges"] = edges(v)
        return enc

    def _raw(self, frame: pd.DataFrame, col: str) -> np.ndarray:
        st = self.numeric[col]
        v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return np.where(np.isfinite(v), v, st["median"])

    def _derive(self, frame: pd.DataFrame, d: dict) -> np.ndarray:
        a, b = d["columns"]
        return self.OPS[d["op"]](self._raw(frame, a), self._raw(frame, b))

    @property
    def feature_names(self) -> list[str]:
        names = []
        for col in self.columns:
            if col in self.numeric:
                names.append(col)
                names += [f"{col} bin {i + 1}" for i in range(len(self.numeric[col].get("edges", [])) - 1)]
            else:
                names += [f"{col}={v}" for v in self.categorical[col]]
        for d in self.derived:
            names.append(d["name"])
            names += [f"{d['name']} bin {i + 1}" for i in range(len(d.get("edges", [])) - 1)]
        return names

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """DataFrame with the feature columns → float32 [N, F]. Missing columns are an error."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError(f"Missing feature columns: {', '.join(missing)}.",
                            hint=f"the model expects: {', '.join(self.columns)}")
        parts = []
        for col in self.columns:
            if col in self.numeric:
                st, v = self.numeric[col], self._raw(frame, col)
                parts.append(((v - st["mean"]) / st["std"])[:, None])
                parts.append(_piecewise_linear(v, st.get("edges", [])))
            else:
                cats = self.categorical[col]
                values = np.array(category_strings(frame[col]), dtype=object)
                parts.append((values[:, None] == np.array(cats, dtype=object)[None, :]).astype(np.float64))
        for d in self.derived:
            v = self._derive(frame, d)
            parts.append(((v - d["mean"]) / d["std"])[:, None])
            parts.append(_piecewise_linear(v, d.get("edges", [])))
        x = np.concatenate(parts, axis=1) if parts else np.zeros((len(frame), 0))
        return x.astype(np.float32)

    def to_json(self) -> str:
        d = {"columns": self.columns, "numeric": self.numeric, "categorical": self.categorical, "bins": self.bins}
        if self.derived:
            d["derived"] = self.derived
        return json.dumps(d, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> TabularEncoder:
        d = json.loads(text)
        enc = cls(numeric=d["numeric"], categorical=d["categorical"], columns=d["columns"],
                  derived=list(d.get("derived", [])), bins=int(d.get("bins", 0)))
        for x in enc.derived:
            if x.get("op") not in cls.OPS or not all(c in enc.numeric for c in x.get("columns", [None, None])):
                raise DataError("The model's encoder.json has a derived feature it cannot compute.",
                                hint="re-export the model")
        return enc

