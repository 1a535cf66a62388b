"""Reading a user's CSV safely: size limit first, encoding detection, separator sniffing, clear errors.

Used by the CLI (`predict --csv`), the training studio's uploads and the
tabular loaders. It never guesses silently: a non-UTF-8 file is decoded as GBK
or cp1252 only when that decodes cleanly, and the caller is told which.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from bigmodel_core.data.limits import MAX_UPLOAD_BYTES
from bigmodel_core.errors import DataError

MAX_CSV_BYTES = MAX_UPLOAD_BYTES           # the app's upload limit (.streamlit/config.toml)


def _read_bytes(source, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        raw = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise DataError(f"Cannot read {path}: {exc.strerror or exc}.", hint="check the path") from exc
        if size > max_bytes:
            raise DataError(f"The CSV file is too large ({size / 1e6:.0f} MB; the limit is {max_bytes / 1e6:.0f} MB).",
                            hint="use a sample of the rows")
        raw = path.read_bytes()
    elif hasattr(source, "getvalue"):                      # Streamlit's UploadedFile, BytesIO, StringIO
        raw = source.getvalue()
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
    else:                                                   # any other file-like object
        raw = source.read(max_bytes + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
    if len(raw) > max_bytes:
        raise DataError(f"The CSV file is too large (over {max_bytes / 1e6:.0f} MB).", hint="use a sample of the rows")
    return raw


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding used). UTF-16 by its byte-order mark; binary data is refused."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if b"\x00" in raw[:65536]:
        raise DataError("This is not a CSV file (it holds binary data).", hint="save the table as a UTF-8 CSV file")
    try:
        return raw.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        pass
    # GBK text has its non-ASCII bytes in runs (two per character, characters side by side);
    # cp1252 text has them alone between ASCII letters (Müller, café). GB18030 would accept
    # both, so look at the bytes before choosing.
    high = [i for i, b in enumerate(raw) if b >= 0x80]
    isolated = sum(1 for i in high if (i == 0 or raw[i - 1] < 0x80) and (i + 1 == len(raw) or raw[i + 1] < 0x80))
    order = ("cp1252", "gb18030") if high and isolated / len(high) > 0.5 else ("gb18030", "cp1252")
    for enc in order:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise DataError("The file is not text in UTF-8, GBK or cp1252.", hint="save it as UTF-8 CSV")


def read_csv_safely(source: str | Path | bytes | BinaryIO, max_bytes: int = MAX_CSV_BYTES,
                    with_encoding: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, str]:
    """A DataFrame from a path, bytes or file object. Raises DataError for anything unusable."""
    raw = _read_bytes(source, max_bytes)
    if not raw.strip():
        raise DataError("The CSV file is empty.", hint="upload a file with a header row and data rows")
    text, encoding = decode(raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n")          # Windows and old-Mac line endings
    if not text.strip():
        raise DataError("The CSV file is empty.", hint="upload a file with a header row and data rows")
    first_line = text.lstrip().split("\n", 1)[0]
    sep = max([",", ";", "\t", "|"], key=first_line.count)
    try:
        header = next(csv.reader(io.StringIO(first_line), delimiter=sep), [])
    except csv.Error as exc:
        raise DataError(f"The header row cannot be read: {exc}.", hint="check the first line of the file") from exc
    header = [h.strip() for h in header]
    dupes = sorted({c for c in header if c and header.count(c) > 1})
    if dupes:
        raise DataError(f"Duplicated column names: {', '.join(dupes)}.", hint="give every column its own name")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        raise DataError(f"This is not a readable CSV file: {str(exc).strip().splitlines()[0][:200]}",
                        hint="check the separator and quoting") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    trailing = [c for c in frame.columns if c.startswith("Unnamed: ") and frame[c].isna().all()]
    frame = frame.drop(columns=trailing)          # empty columns from trailing separators (Excel exports)
    if frame.empty:
        raise DataError("The CSV file has a header but no rows.", hint="add data rows")
    return (frame, encoding) if with_encoding else frame
