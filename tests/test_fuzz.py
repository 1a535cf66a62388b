"""Fuzzing with hypothesis: any input to the CSV loaders, the text preparation and the image reader
either works or raises the project's own error type (`BigModelError`), never another exception."""
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bigmodel_core.data import uploads as D
from bigmodel_core.data.csvio import read_csv_safely
from bigmodel_core.data.partition import MIN_ROWS
from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import preprocess as pp

ROOT = Path(__file__).resolve().parent.parent
TOKENIZER = ROOT / "models" / "sst2-tiny" / "tokenizer.json"
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

cells = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
                  st.text(max_size=12), st.sampled_from(["", "nan", "inf", "-inf", "NA", "n/a", '"', '""', "a,b",
                                                         "1e309", "0x1F", "１２", "名称", "café", "\u200b"]))
headers = st.lists(st.one_of(st.sampled_from(["y", "a", "b", "text", "label", " y ", "Y"]), st.text(max_size=6)),
                   min_size=1, max_size=5)
separators = st.sampled_from([",", ";", "\t", "|"])
encodings = st.sampled_from(["utf-8", "utf-8-sig", "gbk", "cp1252", "utf-16"])


@st.composite
def csv_files(draw) -> bytes:
    sep = draw(separators)
    header = draw(headers)
    rows = draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)), max_size=40))
    text = sep.join(header) + "\n" + "\n".join(sep.join(r) for r in rows)
    return text.encode(draw(encodings), errors="replace")


def only_own_errors(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except BigModelError as exc:
        assert str(exc).strip()                        # always a message a person can read
        return None


@FUZZ
@given(csv_files())
def test_read_csv_safely_on_structured_garbage(raw):
    frame = only_own_errors(read_csv_safely, raw)
    if frame is not None:
        assert len(frame) > 0 and len(set(frame.columns)) == len(frame.columns)


@FUZZ
@given(st.binary(max_size=2000))
def test_read_csv_safely_on_any_bytes(raw):
    only_own_errors(read_csv_safely, raw)


@FUZZ
@given(csv_files(), st.sampled_from(["y", "a", "label"]), st.sampled_from([None, "classification", "regression"]))
def test_tabular_upload_loads_or_raises_data_error(raw, target, problem):
    ds = only_own_errors(D.load_csv_tabular, raw, target, problem)
    if ds is not None:
        assert sum(len(v) for v in ds.split.values()) == len(ds) >= MIN_ROWS
        if ds.problem == "regression":
            assert np.isfinite(ds.frame[ds.target].to_numpy(dtype=float)).all()


@FUZZ
@given(csv_files())
def test_text_upload_loads_or_raises_data_error(raw):
    ds = only_own_errors(D.load_csv_text, raw)
    if ds is not None:
        assert all(t.strip() for t in ds.texts) and len(ds.class_names) >= 2


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=300), st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
                          st.sampled_from(["", " ", "\u3000", "😀" * 50, "a" * 25_000, "\x00", "\ud7ff"])),
                min_size=1, max_size=4))
def test_text_cleaning_and_tokenising(texts):
    if not TOKENIZER.exists():
        pytest.skip("sst2-tiny is not built")
    out = only_own_errors(pp.clean_texts, texts)
    if out is None:
        assert any(not str(t).strip() for t in texts)    # only an empty text is refused
        return
    cleaned, notices = out
    assert all(0 < len(t) <= pp.MAX_TEXT_CHARS for t in cleaned)
    assert bool(notices) == any(len(t.strip()) > pp.MAX_TEXT_CHARS for t in texts)
    feed = pp.encode_texts(_tokenizer(), cleaned)
    assert feed["input_ids"].shape == feed["attention_mask"].shape and feed["input_ids"].shape[0] == len(texts)


_TOK = []


def _tokenizer():
    if not _TOK:
        _TOK.append(pp.load_tokenizer(TOKENIZER))
    return _TOK[0]


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from([1, 3]))
def test_image_reader_on_any_bytes(raw, channels):
    arr = only_own_errors(pp.prepare_images, [raw], dict(channels=channels, height=8, width=8))
    if arr is not None:
        assert arr.shape == (1, channels, 8, 8) and np.isfinite(arr).all()


@FUZZ
@given(st.integers(0, 400), st.integers(1, 2000))
def test_image_reader_on_damaged_pngs(cut, flip):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(cut).integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[flip % len(data)] ^= 0xFF
    only_own_errors(pp.prepare_images, [bytes(data[: len(data) - cut])], dict(channels=3, height=8, width=8))


@pytest.mark.filterwarnings("ignore:Duplicate name")
@FUZZ
@given(st.lists(st.tuples(st.text(max_size=20), st.binary(max_size=60)), max_size=8))
def test_image_zip_loader_on_odd_archives(entries):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            name = name.split("\x00")[0]                   # zipfile cuts names at NUL itself
            if name:
                zf.writestr(name, data)
    only_own_errors(D.load_image_zip, buf.getvalue())
