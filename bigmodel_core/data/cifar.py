"""CIFAR-10 in either form the data cache may hold: the official binary batches (what a download
gives) or JPEG class folders (train/<class>/*.jpg, test/<class>/*.jpg), decoded once into a uint8
array cached under `cache_dir()`. Both give the same labels, and the official test batch (or the
test folder) is the test set.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from bigmodel_core.data import catalog
from bigmodel_core.data.catalog import DatasetInfo, local_path
from bigmodel_core.data.download import MIRROR_HINT, fetch
from bigmodel_core.data.types import ImageDataset
from bigmodel_core.errors import DataError
from bigmodel_core.paths import cache_dir

# names (what ImageFolder uses), so both forms of the dataset give the same labels.
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
assert sorted(CIFAR10_CLASSES) == CIFAR10_CLASSES
CIFAR_RECORD_BYTES = 1 + 3 * 32 * 32  # a label byte, then the red, green and blue 32×32 planes
CIFAR_TEST_BATCH = "test_batch.bin"


def load_cifar10_images(info: DatasetInfo) -> tuple[ImageDataset, np.ndarray]:
    """CIFAR-10 from the binary batches (what a download gives) or, failing that, the JPEG folders."""
    if catalog.cached_form(info) == "folders":
        return _load_cifar_folders(info)
    paths = {p.name: p for p in fetch(info)}
    parts = [read_cifar_batch(paths[f.name]) for f in info.files if f.name != CIFAR_TEST_BATCH]
    parts.append(read_cifar_batch(paths[CIFAR_TEST_BATCH]))
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    n_test = len(parts[-1][1])
    test_pool = np.arange(len(labels) - n_test, len(labels), dtype=np.int64)
    return ImageDataset(info.id, images, labels, list(CIFAR10_CLASSES)), test_pool


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 3, 32, 32], labels int64 [N]) of one binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % CIFAR_RECORD_BYTES:
        raise DataError(f"{path} is not a CIFAR-10 binary batch ({raw.size} bytes, not a multiple of "
                        f"{CIFAR_RECORD_BYTES})", hint="delete it to download it again")
    records = raw.reshape(-1, CIFAR_RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    if labels.max() >= len(CIFAR10_CLASSES):
        raise DataError(f"{path} has a label {labels.max()}, above 9", hint="delete it to download it again")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def _load_cifar_folders(info):
    """Decode the JPEG folders once into a uint8 array cached under cache_dir() (~3 s), then load that (< 1 s)."""
    root = local_path(info)
    listing = {part: {c.name: sorted(n for n in os.listdir(c) if not n.startswith("."))
                      for c in sorted((root / part).iterdir(), key=lambda p: p.name) if c.is_dir()}
               for part in ("train", "test")}
    class_names = sorted(listing["train"])  # sorted folder names, as ImageFolder does
    if sorted(listing["test"]) != class_names:
        raise DataError(f"{root}: train and test have different class folders", hint=MIRROR_HINT)
    if class_names != CIFAR10_CLASSES:
        raise DataError(f"{root}: the class folders are {', '.join(class_names)}",
                        hint="CIFAR-10 has the folders " + ", ".join(CIFAR10_CLASSES))
    fingerprint = repr((str(root.resolve()), [(part, c, (root / part / c).stat().st_mtime_ns, len(names))
                                             for part, classes in listing.items() for c, names in classes.items()]))
    cached = cache_dir() / f"cifar10-images-{hashlib.sha1(fingerprint.encode()).hexdigest()[:16]}.npz"
    if not cached.exists():
        _decode_cifar_folders(root, listing, class_names, cached)
    with np.load(cached) as saved:
        images, labels, is_test = saved["images"], saved["labels"], saved["is_test"]
    return ImageDataset(info.id, images, labels, class_names), np.flatnonzero(is_test).astype(np.int64)


def decode_jpegs(blobs: list[bytes]) -> np.ndarray:
    """uint8 [N, 3, H, W] from JPEG files: torchvision's batch decoder, or Pillow (the light install, no
    torch), which gives the same pixels (libjpeg-turbo both; tests/test_light.py compares them)."""
    try:
        import torch
        from torchvision.io import ImageReadMode, decode_jpeg
    except ImportError:
        from PIL import Image

        return np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")).transpose(2, 0, 1) for b in blobs])
    return torch.stack(decode_jpeg([torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs],
                                   mode=ImageReadMode.RGB)).numpy()


def _decode_cifar_folders(root: Path, listing: dict, class_names: list[str], out_path: Path) -> None:
    images, labels, is_test = [], [], []
    for part in ("train", "test"):
        for label, class_name in enumerate(class_names):
            folder = root / part / class_name
            raw = [(folder / name).read_bytes() for name in listing[part][class_name]]
            try:
                decoded = decode_jpegs(raw)
            except (RuntimeError, OSError, ValueError) as e:
                raise DataError(f"cannot decode the images in {folder}: {e}", hint=MIRROR_HINT) from e
            images.append(decoded)
            labels.append(np.full(len(raw), label, dtype=np.int64))
            is_test.append(np.full(len(raw), part == "test"))
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, suffix=".npz.part")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, images=np.concatenate(images), labels=np.concatenate(labels), is_test=np.concatenate(is_test))
        os.replace(tmp, out_path)
    finally:
        Path(tmp).unlink(missing_ok=True)

