"""Users' uploads as typed datasets: a table (`load_csv_tabular`), labelled texts (`load_csv_text`)
and class folders of images in a zip or a folder (`load_image_zip`).

An upload is a path, bytes or a file-like object such as Streamlit's UploadedFile. Every problem with
it (too large, not a CSV, no such column, one class only, an unsafe zip) becomes a `DataError` that
says what to fix; what the loader changed or dropped is in the dataset's `notes`.
"""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from bigmodel_core.data.csvio import read_csv_safely
from bigmodel_core.data.limits import MAX_UPLOAD_BYTES, too_large_message
from bigmodel_core.data.partition import MIN_ROWS, make_split
from bigmodel_core.data.types import ImageDataset, TabularDataset, TextDataset, plural, tabular_dataset
from bigmodel_core.errors import DataError

CSV_HINT = "save the table as a CSV file (UTF-8, comma-separated) with the column names in the first row"


def _read_bytes(source) -> tuple[bytes, str]:
    """The bytes of an upload (path, bytes, or file-like such as Streamlit's UploadedFile) and its name."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"no such file: {path}", hint="check the path")
        if path.stat().st_size > MAX_UPLOAD_BYTES:                  # refused before reading
            raise DataError(too_large_message(path.stat().st_size, path.name), hint="upload a smaller sample")
        return path.read_bytes(), path.name
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), "upload"
    elif hasattr(source, "getvalue") or hasattr(source, "read"):
        data = source.getvalue() if hasattr(source, "getvalue") else source.read(MAX_UPLOAD_BYTES + 1)
        data = data.encode() if isinstance(data, str) else data
        name = Path(getattr(source, "name", None) or "upload").name
    else:
        raise DataError(f"cannot read an upload of type {type(source).__name__}", hint="pass a path, bytes or a file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DataError(too_large_message(len(data), name), hint="upload a smaller sample")
    return data, name


def _read_csv(source) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """Read an uploaded CSV (encoding and separator detected by `csvio`): (frame, name, notes)."""
    data, name = _read_bytes(source)
    frame, encoding = read_csv_safely(data, with_encoding=True)
    notes = () if encoding.startswith("utf-8") else \
        (f"the file is not UTF-8; it was read as {'GBK' if encoding == 'gb18030' else encoding}",)
    return frame, name, notes


def _numbers_with_typos(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Columns of numbers with a few stray words ('n/a', '?', '12,5') become numeric; the strays become missing.

    A column is converted when at least 90 % of its non-empty cells are numbers, so a
    real text column (a city, a grade) stays categorical.
    """
    notes = ()
    for col in frame.columns:
        if col == target or is_numeric_dtype(frame[col]):
            continue
        cells = frame[col].dropna().astype(str).str.strip()
        cells = cells[cells != ""]
        if cells.empty:
            continue
        numbers = pd.to_numeric(cells, errors="coerce")
        ok = int(numbers.notna().sum())
        if ok and ok >= 0.9 * len(cells):
            frame[col] = pd.to_numeric(frame[col].astype(str).str.strip(), errors="coerce")
            notes += (f"column {col!r}: {plural(len(cells) - ok, 'non-numeric value')} treated as missing",)
    return frame, notes


def _find_column(frame: pd.DataFrame, wanted: str, name: str, role: str) -> str:
    if wanted in frame.columns:
        return wanted
    matches = [c for c in frame.columns if c.strip().lower() == wanted.strip().lower()]
    if len(matches) == 1:
        return matches[0]
    raise DataError(f"{name} has no {role} column {wanted!r}",
                    hint="the columns are: " + ", ".join(map(str, frame.columns)))


def _class_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Int codes 0..K-1 for the sorted distinct values, and their names."""
    distinct = sorted(values.unique().tolist(), key=lambda v: (isinstance(v, str), v))
    names = [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in distinct]
    codes = values.map({v: i for i, v in enumerate(distinct)}).to_numpy(dtype=np.int64)
    return codes, names


def _infer_problem(values: pd.Series) -> str:
    """Text or few (≤ 10) whole-number values: classification; other numbers: regression."""
    if not is_numeric_dtype(values) or values.dtype == bool:
        return "classification"
    distinct = values.unique()
    whole = np.all(np.mod(distinct.astype(float), 1) == 0)
    return "classification" if whole and len(distinct) <= 10 else "regression"


def _check_enough(n_rows: int, name: str, what: str = "row") -> None:
    if n_rows < MIN_ROWS:
        raise DataError(f"{name} has only {plural(n_rows, 'usable ' + what)}",
                        hint=f"at least {MIN_ROWS} are needed to make train, validation and test sets")


def _upload_id(name: str) -> str:
    return "upload:" + (Path(name).stem or "upload")


def load_csv_tabular(path_or_buffer: str | Path | BinaryIO, target: str, problem: str | None = None,
                     seed: int = 0) -> TabularDataset:
    """A user's table: features plus `target`. `problem` is guessed from the target when None."""
    frame, name, notes = _read_csv(path_or_buffer)
    target = _find_column(frame, target, name, "target")
    if frame.shape[1] < 2:
        raise DataError(f"{name} has only the target column {target!r}, no features",
                        hint=CSV_HINT + " (is the separator a comma?)")
    frame, typo_notes = _numbers_with_typos(frame, target)
    notes += typo_notes
    present = frame[target].notna()
    finite = np.isfinite(frame[target].astype(float)) if is_numeric_dtype(frame[target]) else present
    missing, infinite = int((~present).sum()), int((present & ~finite).sum())
    notes += (f"dropped {plural(missing, 'row')} with no value in {target!r}",) if missing else ()
    notes += (f"dropped {plural(infinite, 'row')} with an infinite value in {target!r}",) if infinite else ()
    frame = frame[present & finite].reset_index(drop=True)
    _check_enough(len(frame), name)
    problem = problem or _infer_problem(frame[target])
    if problem not in ("classification", "regression"):
        raise DataError(f"unknown problem {problem!r}", hint='use "classification" or "regression"')
    class_names = None
    if problem == "classification":
        codes, class_names = _class_codes(frame[target])
        if len(class_names) < 2:
            raise DataError(f"the target {target!r} has only one value ({class_names[0]})",
                            hint="a classifier needs at least two classes")
        frame[target] = codes
    elif not is_numeric_dtype(frame[target]):
        raise DataError(f"the target {target!r} holds text, so it cannot be a regression target",
                        hint='choose problem="classification" or a numeric column')
    else:
        frame[target] = frame[target].astype(float)
    features = frame.drop(columns=[target])
    numeric = features.select_dtypes("number").astype(float)
    blanks = int(features.isna().sum().sum()) + int(np.isinf(numeric.to_numpy()).sum())   # NaN and ±inf
    notes += (f"{plural(blanks, 'feature value')} missing",) if blanks else ()
    ds = tabular_dataset(_upload_id(name), frame, target, problem, class_names, notes)
    return make_split(ds, seed, None, None)


TEXT_COLUMNS = ("text", "sentence", "review", "comment", "content", "文本", "评论", "内容", "句子")
LABEL_COLUMNS = ("label", "labels", "sentiment", "class", "target", "y", "标签", "类别", "情感")


def _guess_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    by_lower = {str(c).lower(): c for c in frame.columns}
    return next((by_lower[n] for n in names if n in by_lower), None)


def _language(texts: list[str]) -> str:
    sample = "".join(texts[:500])
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in sample)
    letters = sum(ch.isalpha() for ch in sample)
    return "zh" if letters and cjk / letters > 0.3 else "en"


def load_csv_text(path_or_buffer: str | Path | BinaryIO, text_col: str | None = None, label_col: str | None = None,
                  seed: int = 0) -> TextDataset:
    """A user's labelled texts: a CSV with a text column and a label column (guessed when not given)."""
    frame, name, notes = _read_csv(path_or_buffer)
    columns_hint = "the columns are: " + ", ".join(map(str, frame.columns)) + \
        "; name them text and label, or choose them"
    text_col = _find_column(frame, text_col, name, "text") if text_col else _guess_column(frame, TEXT_COLUMNS)
    label_col = _find_column(frame, label_col, name, "label") if label_col else _guess_column(frame, LABEL_COLUMNS)
    if text_col is None and label_col is not None and frame.shape[1] == 2:
        text_col = next(c for c in frame.columns if c != label_col)
    if label_col is None and text_col is not None and frame.shape[1] == 2:
        label_col = next(c for c in frame.columns if c != text_col)
    if text_col is None or label_col is None or text_col == label_col:
        raise DataError(f"cannot tell which column of {name} holds the texts and which the labels", hint=columns_hint)
    texts = frame[text_col].fillna("").astype(str).str.strip()
    keep = (texts != "") & frame[label_col].notna()
    notes += (f"dropped {plural(int((~keep).sum()), 'row')} with an empty text or no label",) if not keep.all() else ()
    texts, labels = texts[keep].tolist(), frame.loc[keep, label_col]
    _check_enough(len(texts), name, "text")
    codes, class_names = _class_codes(labels.astype(str).str.strip() if not is_numeric_dtype(labels) else labels)
    if len(class_names) < 2:
        raise DataError(f"every text in {name} has the same label ({class_names[0]})",
                        hint="a classifier needs at least two labels")
    ds = TextDataset(_upload_id(name), texts, codes, class_names, _language(texts), notes=notes)
    return make_split(ds, seed, None, None)


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
ARCHIVE_SUFFIXES = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar"}   # never unpacked inside a zip
MAX_UPLOAD_IMAGES = 50_000
MAX_UNPACKED_BYTES = 1 << 30
DEFAULT_IMAGE_SIZE = 64  # used when the images differ in size or are larger than 128 px
IMAGES_HINT = "put each class in its own folder (cat/1.jpg, dog/2.jpg, …) and zip the folders"


def _image_files(source) -> tuple[list[tuple[str, bytes]], str, list[str]]:
    """(relative path, bytes) of every image in a zip upload or an image folder, its name, and every
    other entry's path (folders end in '/'); refuses unsafe names."""
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        root = Path(source)
        entries = sorted(root.rglob("*"))
        files = [(p.relative_to(root).as_posix(), p.read_bytes()) for p in entries
                 if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        others = [p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in entries
                  if p.is_dir() or p.suffix.lower() not in IMAGE_SUFFIXES]
        return files, root.name, others
    data, name = _read_bytes(source)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataError(f"{name} is not a zip file", hint=IMAGES_HINT) from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        for info in infos:
            parts = info.filename.replace("\\", "/").split("/")
            if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
                raise DataError(f"{name} holds an unsafe file name {info.filename!r}; the zip was refused",
                                hint="file names in the zip must stay inside it (no ../ and no absolute paths)")
        if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
            raise DataError(f"{name} unpacks to more than {MAX_UNPACKED_BYTES >> 20} MB",
                            hint="upload fewer or smaller images")
        files = [(i.filename.replace("\\", "/"), archive.read(i)) for i in infos
                 if PurePosixPath(i.filename).suffix.lower() in IMAGE_SUFFIXES]
        others = [i.filename.replace("\\", "/") for i in archive.infolist()
                  if i.is_dir() or PurePosixPath(i.filename).suffix.lower() not in IMAGE_SUFFIXES]
    return files, name, others


def load_image_zip(path: str | Path | bytes | BinaryIO, size: int | None = None, seed: int = 0) -> ImageDataset:
    """A user's images from a zip (or a folder) laid out as <class>/<image>; classes are the folder names.

    Images become grey-scale [N,1,H,W] when all of them are grey, RGB [N,3,H,W]
    otherwise. `size` resizes (centre crop) to size×size; when None the images
    keep their size if they all share one up to 128 px, else become 64×64.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    from bigmodel_core.serve.preprocess import MAX_IMAGE_PIXELS

    def hidden(p: str) -> bool:
        return any(part.startswith(".") or part == "__MACOSX" for part in p.strip("/").split("/"))

    files, name, others = _image_files(path)
    files = [(p, b) for p, b in files if not hidden(p)]
    others = [p for p in others if not hidden(p)]
    nested = [p for p in others if PurePosixPath(p).suffix.lower() in ARCHIVE_SUFFIXES]
    loose = [p for p, _ in files if "/" not in p]
    files = [(p, b) for p, b in files if "/" in p]
    if not files:
        what = ("it holds other archives, which are not unpacked: " + ", ".join(nested[:3]) if nested else
                "its images are not in class folders" if loose else "it holds no images (.png, .jpg, …)")
        raise DataError(f"{name} cannot be used: {what}", hint=IMAGES_HINT)
    if len(files) > MAX_UPLOAD_IMAGES:
        raise DataError(f"{name} holds {len(files)} images", hint=f"upload at most {MAX_UPLOAD_IMAGES}")
    pictures, classes, unreadable = [], [], []
    for file_path, data in files:
        try:
            picture = Image.open(io.BytesIO(data))
            if picture.width * picture.height > MAX_IMAGE_PIXELS:     # a decompression bomb: never decoded
                unreadable.append(file_path)
                continue
            picture.load()
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            unreadable.append(file_path)
            continue
        pictures.append(picture)
        classes.append(file_path.split("/")[-2])
    notes = ()
    if loose:
        notes += (f"ignored {plural(len(loose), 'image')} outside class folders",)
    if unreadable:
        notes += (f"skipped {plural(len(unreadable), 'unreadable file')}: " + ", ".join(unreadable[:3]),)
    if nested:
        notes += (f"ignored {plural(len(nested), 'archive')} inside the zip (not unpacked): " + ", ".join(nested[:3]),)
    image_dirs = {p.rsplit("/", 1)[0] for p, _ in files}
    with_images = {"/".join(d.split("/")[:k]) for d in image_dirs for k in range(1, d.count("/") + 2)}
    folders = {p.strip("/") if p.endswith("/") else p.rsplit("/", 1)[0]
               for p in others if "/" in p.strip("/") or p.endswith("/")}
    empty = sorted({f.split("/")[-1] for f in folders - with_images})
    if empty:
        notes += (f"class folder{'s' if len(empty) > 1 else ''} with no images left out: " + ", ".join(empty[:5]),)
    class_names = sorted(set(classes))
    if len(class_names) < 2:
        detail = f"only one class folder ({class_names[0]!r})" if class_names else "no readable images"
        if empty:
            detail += f"; {', '.join(empty[:5])} {'has' if len(empty) == 1 else 'have'} no images"
        raise DataError(f"{name} has {detail}", hint="a classifier needs at least two classes; " + IMAGES_HINT)
    _check_enough(len(pictures), name, "image")
    grey = all(p.mode in ("1", "L", "LA", "I", "I;16", "F") for p in pictures)
    sizes = {p.size for p in pictures}
    if size is None and len(sizes) == 1 and max(next(iter(sizes))) <= 128:
        width, height = next(iter(sizes))
    else:
        width = height = size or DEFAULT_IMAGE_SIZE
    arrays = []
    for picture in pictures:
        picture = picture.convert("L" if grey else "RGB")
        if picture.size != (width, height):
            picture = ImageOps.fit(picture, (width, height), Image.Resampling.BICUBIC)
        array = np.asarray(picture, dtype=np.uint8)
        arrays.append(array[None] if grey else array.transpose(2, 0, 1))
    labels = np.array([class_names.index(c) for c in classes], dtype=np.int64)
    ds = ImageDataset(_upload_id(name), np.stack(arrays), labels, class_names, notes=notes)
    return make_split(ds, seed, None, None)
