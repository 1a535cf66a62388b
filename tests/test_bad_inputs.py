"""The bad-input catalogue, core and command line: every item either works or fails with the project's own error.

Each family (images, texts, CSV files, image-folder zips here; ONNX uploads, models on
disk, training, size limits in test_bad_models.py) is one parametrised table. The core must raise a
`BigModelError` (never another exception) for what it cannot use and must accept
what it can convert; the CLI, where it takes that input, must exit non-zero with
ONE line on stderr and no traceback. The pages are covered in test_bad_inputs_ui.py.

Most CLI cases call `cli.main()` in-process (fast; an uncaught exception would fail
the test); a few run `python -m bigmodel_core` for real to check the process contract.
"""
import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bigmodel_core import cli
from bigmodel_core.cli.inference import _read_text_file
from bigmodel_core.data import uploads as D
from bigmodel_core.data.csvio import read_csv_safely
from bigmodel_core.errors import DataError
from bigmodel_core.serve import preprocess as pp
from bigmodel_core.serve import registry
from tests.conftest import bilevel_png

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
IMAGE_MODEL, TEXT_MODEL, TABLE_MODEL = MODELS / "mnist-mlp-seed", MODELS / "sst2-tiny", MODELS / "diabetes-mlp"
DIABETES_COLUMNS = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def need(folder: Path) -> None:
    if not (folder / "model.onnx").exists():
        pytest.skip(f"shipped model {folder.name} not built: "
                    f"python -m bigmodel_core build-defaults --only {folder.name}")


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """`python -m bigmodel_core ARGV` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, match: str | None = None) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "unexpected" not in err, err
    if match:
        assert match.lower() in lines[0].lower(), lines[0]


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


# ============================================================================ images

def _noisy(mode="RGB", size=(40, 40)) -> Image.Image:
    arr = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr).convert(mode)


def _digit(mode: str) -> bytes:
    """A white '1' on black, 28×28, saved in the given mode."""
    arr = np.zeros((28, 28), dtype=np.uint8)
    arr[4:24, 13:16] = 255
    grey = Image.fromarray(arr)
    if mode == "I;16":
        img16 = Image.fromarray(arr.astype(np.uint16) * 257)
        assert img16.mode.startswith("I;16")
        return encode(img16)
    if mode == "CMYK":
        return encode(grey.convert("RGB").convert("CMYK"), "JPEG", quality=95)
    if mode == "P":
        return encode(grey.convert("RGB").convert("P"))
    if mode == "RGBA":
        rgba = grey.convert("RGBA")
        rgba.putalpha(255)
        return encode(rgba)
    if mode == "LA":
        return encode(grey.convert("LA"))
    return encode(grey.convert(mode))


BAD_IMAGES = {                                   # name → (bytes factory, file name, message)
    "text-renamed-png": (lambda: b"name,score\nalice,3\n", "photo.png", "not a readable image"),
    "truncated-png": (lambda: encode(_noisy())[: len(encode(_noisy())) // 2], "photo.png", "not a readable image"),
    "truncated-jpeg": (lambda: encode(_noisy(), "JPEG")[: len(encode(_noisy(), "JPEG")) // 2], "photo.jpg",
                       "not a readable image"),
    "corrupt-png-crc": (lambda: encode(_noisy())[:40] + b"\x00" * 40 + encode(_noisy())[80:], "photo.png",
                        "not a readable image"),
    "bomb-20000x20000": (lambda: bilevel_png(20_000, 20_000), "bomb.png", "too large"),
    "empty-file": (lambda: b"", "empty.png", "not a readable image"),
}
GOOD_IMAGE_MODES = ["I;16", "P", "RGBA", "LA", "L", "CMYK", "RGB", "1"]


@pytest.fixture(scope="module")
def bad_images() -> dict:
    return {k: (f(), name, msg) for k, (f, name, msg) in BAD_IMAGES.items()}


@pytest.mark.parametrize("kind", list(BAD_IMAGES))
@pytest.mark.parametrize("channels", [1, 3])
def test_core_refuses_bad_images_with_a_data_error(kind, channels, bad_images, tmp_path):
    data, name, message = bad_images[kind]
    (tmp_path / name).write_bytes(data)
    for source in (data, tmp_path / name, io.BytesIO(data)):
        t0 = time.perf_counter()
        with pytest.raises(DataError, match=message):
            pp.prepare_images([source], dict(channels=channels, height=28, width=28))
        assert time.perf_counter() - t0 < 2.0              # a bomb is refused from its header, not decoded


def test_bomb_is_a_few_kilobytes_and_refused_by_pixel_count(bad_images):
    data = bad_images["bomb-20000x20000"][0]
    assert len(data) < 100_000
    with pytest.raises(DataError, match="too large") as info:
        pp.load_image(data, 1)
    assert "40 megapixels" in info.value.hint


@pytest.mark.parametrize("mode", GOOD_IMAGE_MODES)
@pytest.mark.parametrize("channels", [1, 3])
def test_core_converts_every_image_mode(mode, channels):
    arr = pp.prepare_images([_digit(mode)], dict(channels=channels, height=28, width=28))
    assert arr.shape == (1, channels, 28, 28) and arr.dtype == np.float32
    assert np.isfinite(arr).all() and arr.min() >= 0.0 and arr.max() <= 1.0
    if mode != "1":                                   # the stroke is brighter than the background
        assert arr[0, :, 4:24, 13:16].mean() > arr[0, :, :, :8].mean() + 0.5


@pytest.mark.parametrize("kind", list(BAD_IMAGES))
def test_cli_bad_image_is_one_line_error(kind, bad_images, tmp_path, capsys):
    need(IMAGE_MODEL)
    data, name, message = bad_images[kind]
    (tmp_path / name).write_bytes(data)
    code, out, err = run_cli(capsys, "predict", IMAGE_MODEL, tmp_path / name, "--json", "--device", "cpu")
    assert_one_line_error(code, err, message)
    assert out == ""


@pytest.mark.parametrize("mode", GOOD_IMAGE_MODES)
def test_cli_predicts_every_image_mode(mode, tmp_path, capsys):
    need(IMAGE_MODEL)
    path = tmp_path / ("digit.jpg" if mode == "CMYK" else "digit.png")
    path.write_bytes(_digit(mode))
    code, out, err = run_cli(capsys, "predict", IMAGE_MODEL, path, "--json", "--device", "cpu")
    assert code == 0, err
    result = json.loads(out)
    assert result["label"] in [str(i) for i in range(10)] and abs(sum(result["scores"].values()) - 1) < 1e-4


def test_cli_missing_image_path_is_one_line_error(tmp_path, capsys):
    need(IMAGE_MODEL)
    code, _, err = run_cli(capsys, "predict", IMAGE_MODEL, tmp_path / "nope.png", "--device", "cpu")
    assert_one_line_error(code, err, "not found")


# ============================================================================ texts

LONG_TEXT = ("A wonderful film. " * 6000)[:100_000]
TEXTS = {                                         # name → (text, None = works | message of the DataError)
    "empty": ("", "empty"),
    "whitespace": ("  \n\t \u3000 ", "empty"),
    "100k-characters": (LONG_TEXT, None),
    "emoji-and-scripts": ("Great movie 😀🎬👍 — 非常好看 — очень хорошо — رائع — すばらしい", None),
    "zero-width-and-rtl": ("\u200bgood\u200f film\ufeff", None),
}


@pytest.mark.parametrize("kind", list(TEXTS))
def test_core_text_cleaning(kind):
    text, message = TEXTS[kind]
    if message:
        with pytest.raises(DataError, match=message):
            pp.clean_texts([text])
        return
    cleaned, notices = pp.clean_texts([text])
    assert cleaned[0] == text.strip()[: pp.MAX_TEXT_CHARS]
    if len(text) > pp.MAX_TEXT_CHARS:
        assert notices and "100,000" in notices[0] and "20,000" in notices[0]
    else:
        assert notices == []


@pytest.fixture(scope="module")
def text_predictor():
    need(TEXT_MODEL)
    from bigmodel_core.serve.runtime import Predictor

    entry = registry.load(TEXT_MODEL)
    return Predictor(entry.folder, entry.card, device="cpu")


@pytest.mark.parametrize("kind", list(TEXTS))
def test_core_text_model_predicts_or_refuses(kind, text_predictor):
    text, message = TEXTS[kind]
    if message:
        with pytest.raises(DataError, match=message):
            text_predictor.predict([text])
        return
    [pred] = text_predictor.predict([text])
    assert pred.label in text_predictor.labels
    feed = text_predictor.prepare([text])
    limit = text_predictor.tokenizer.truncation["max_length"] if text_predictor.tokenizer.truncation else None
    if limit:
        assert feed["input_ids"].shape[1] <= limit              # cut to the model's own limit
    if len(text) > pp.MAX_TEXT_CHARS:
        assert any("cut" in n for n in text_predictor.notices)


@pytest.mark.parametrize("kind", list(TEXTS))
def test_cli_texts(kind, tmp_path, capsys):
    need(TEXT_MODEL)
    text, message = TEXTS[kind]
    if kind == "100k-characters":
        path = tmp_path / "long.txt"
        path.write_text(text, encoding="utf-8")
        code, out, err = run_cli(capsys, "predict", TEXT_MODEL, "--text-file", path, "--json", "--device", "cpu")
    else:
        code, out, err = run_cli(capsys, "predict", TEXT_MODEL, text, "--json", "--device", "cpu")
    if message:
        assert_one_line_error(code, err, message)
        return
    assert code == 0, err
    assert json.loads(out.splitlines()[0])["label"] in ("negative", "positive")
    if kind == "100k-characters":
        assert "note: " in err and "cut" in err


@pytest.mark.parametrize("raw", [b"good film\n\xff\xfe\xfa broken bytes\n", b"\xc3\x28 invalid continuation\n",
                                 b"caf\xe9 latin-1\n"])
def test_invalid_utf8_text_file(raw, tmp_path, capsys):
    path = tmp_path / "texts.txt"
    path.write_bytes(raw)
    with pytest.raises(DataError, match="not UTF-8"):
        _read_text_file(str(path))
    need(TEXT_MODEL)
    code, _, err = run_cli(capsys, "predict", TEXT_MODEL, "--text-file", path, "--device", "cpu")
    assert_one_line_error(code, err, "not UTF-8")


@pytest.mark.parametrize("raw", [b"text,label\n" + b"\xff\xfe\xfd bad %d,pos\n" * 6 + b"fine %d,neg\n" * 6,
                                 b"text,label\n" + b"\x81\x30 odd,pos\n" * 20])
def test_invalid_utf8_in_an_uploaded_text_csv_loads_or_says_so(raw):
    raw = raw.replace(b"%d", b"1")
    try:
        ds = D.load_csv_text(raw)
    except DataError as exc:
        assert str(exc)
    else:
        assert any("not UTF-8" in n for n in ds.notes)


# ============================================================================ CSV files

def _table_rows(n: int, bad=None) -> str:
    rng = np.random.default_rng(1)
    rows = []
    for i in range(n):
        vals = [f"{v:.3f}" for v in rng.normal(size=len(DIABETES_COLUMNS))]
        if bad and i == 1:
            vals[2] = bad
        rows.append(",".join(vals))
    return ",".join(DIABETES_COLUMNS) + "\n" + "\n".join(rows) + ("\n" if rows else "")


def _with_note_column(text: str, word: str) -> str:
    lines = text.splitlines()
    return "\n".join([lines[0] + ",note"] + [f"{line},{word}{i}" for i, line in enumerate(lines[1:])]) + "\n"


TRAIN_CSV = {        # name → (bytes, target, None = loads | DataError message, expected note)
    "gbk": (("名称,值,y\n" + "".join(f"苹果{i % 3},{i},{i % 2}\n" for i in range(30))).encode("gbk"), "y", None, "GBK"),
    "cp1252": (("name,v,y\n" + "".join(f"café{i % 3},{i},{i % 2}\n" for i in range(30))).encode("cp1252"), "y",
               None, "cp1252"),
    "missing-target": (b"a,b\n" + b"1,2\n" * 30, "y", "no target column 'y'", None),
    "non-numeric-in-numeric": (("a,b,y\n" + "".join(f"{'abc' if i == 5 else i},{i % 3},{i * 1.5}\n"
                                                     for i in range(30))).encode(), "y", None, "non-numeric"),
    "nan-and-inf": (("a,b,y\n" + "".join(f"{'inf' if i == 3 else 'nan' if i == 4 else i},{i % 3},{i * 1.5}\n"
                                          for i in range(30))).encode(), "y", None, "2 feature values missing"),
    "inf-in-target": (("a,b,y\n" + "".join(f"{i},{i % 3},{'-inf' if i == 3 else i * 1.5}\n"
                                            for i in range(30))).encode(), "y", None, "infinite value"),
    "single-row": (b"a,b,y\n1,2,3\n", "y", "only 1 usable row", None),
    "zero-rows": (b"a,b,y\n", "y", "no rows", None),
    "duplicated-columns": (b"a,a,y\n" + b"1,2,3\n" * 30, "y", "Duplicated column names: a", None),
    "empty-file": (b"", "y", "empty", None),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "y", "not a CSV", None),
    "only-target": (b"y\n" + b"1\n" * 30, "y", "no features", None),
}


@pytest.mark.parametrize("kind", list(TRAIN_CSV))
def test_core_tabular_upload(kind):
    raw, target, message, note = TRAIN_CSV[kind]
    if message:
        with pytest.raises(DataError, match=message):
            D.load_csv_tabular(raw, target)
        return
    ds = D.load_csv_tabular(raw, target)
    assert len(ds) >= 10 and sum(len(v) for v in ds.split.values()) == len(ds)
    assert any(note in n for n in ds.notes), ds.notes
    x = ds.subset("train")[0]
    assert len(x) and ds.target not in x.columns


def test_numeric_column_with_a_stray_word_stays_numeric():
    ds = D.load_csv_tabular(TRAIN_CSV["non-numeric-in-numeric"][0], "y")
    assert ds.feature_types["a"] == "numeric"
    text_column = ("city,v,y\n" + "".join(f"{['paris', 'rome', '12'][i % 3]},{i},{i % 2}\n" for i in range(30)))
    assert D.load_csv_tabular(text_column.encode(), "y").feature_types["city"] == "categorical"


def test_200_mb_csv_is_refused_by_size_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:                          # sparse: 200 MB on paper, a few bytes on disk
        f.write(b"a,b,y\n1,2,3\n")
        f.truncate(200 * 1024 * 1024)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("a file over the limit was read"))
    for load in (read_csv_safely, lambda p: D.load_csv_tabular(p, "y"), lambda p: D.load_csv_text(p)):
        t0 = time.perf_counter()
        with pytest.raises(DataError, match="too large"):
            load(path)
        assert time.perf_counter() - t0 < 0.5


PREDICT_CSV = {      # name → (text or bytes, None = predicts | message)
    "gbk": (_with_note_column(_table_rows(5), "备注").encode("gbk"), None),
    "cp1252": (_with_note_column(_table_rows(5), "café").encode("cp1252"), None),
    "missing-feature-column": ("age,sex\n1,2\n", "Missing feature columns"),
    "non-numeric-in-numeric": (_table_rows(5, bad="abc"), None),
    "inf": (_table_rows(5, bad="inf"), None),
    "minus-inf": (_table_rows(5, bad="-inf"), None),
    "nan": (_table_rows(5, bad="nan"), None),
    "single-row": (_table_rows(1), None),
    "zero-rows": (_table_rows(0), "no rows"),
    "duplicated-columns": (_table_rows(3).replace("age,sex", "age,age", 1), "Duplicated column names"),
    "empty-file": ("", "empty"),
}


@pytest.mark.parametrize("kind", list(PREDICT_CSV))
def test_cli_predict_csv(kind, tmp_path, capsys):
    need(TABLE_MODEL)
    content, message = PREDICT_CSV[kind]
    path = tmp_path / "rows.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, out, err = run_cli(capsys, "predict", TABLE_MODEL, "--csv", path, "--json", "--device", "cpu")
    if message:
        assert_one_line_error(code, err, message)
        return
    assert code == 0, err
    preds = [json.loads(line)["prediction"] for line in out.splitlines()]
    assert preds and all(np.isfinite(preds))


def test_cli_200_mb_csv_is_refused_by_size(tmp_path, capsys):
    need(TABLE_MODEL)
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.write(_table_rows(2).encode())
        f.truncate(200 * 1024 * 1024)
    code, _, err = run_cli(capsys, "predict", TABLE_MODEL, "--csv", path, "--device", "cpu")
    assert_one_line_error(code, err, "too large")


# ============================================================================ image-folder zips

def _png(color) -> bytes:
    return encode(Image.new("RGB", (8, 8), color))


def _zip(entries) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            if data is None:
                zf.writestr(zipfile.ZipInfo(name), b"")       # a folder entry
            else:
                zf.writestr(name, data)
    return buf.getvalue()


TWO_CLASSES = [(f"cat/{i}.png", _png((250, 20, 20))) for i in range(10)] + \
              [(f"dog/{i}.png", _png((20, 20, 250))) for i in range(10)]

ZIPS = {             # name → (entries, None = loads | DataError message, expected note)
    "good": (TWO_CLASSES, None, None),
    "zip-slip-parent": (TWO_CLASSES + [("../evil.png", _png((0, 0, 0)))], "unsafe file name", None),
    "zip-slip-inside": (TWO_CLASSES + [("cat/../../evil.png", _png((0, 0, 0)))], "unsafe file name", None),
    "zip-slip-absolute": (TWO_CLASSES + [("/tmp/evil.png", _png((0, 0, 0)))], "unsafe file name", None),
    "zip-slip-windows": (TWO_CLASSES + [("..\\evil.png", _png((0, 0, 0)))], "unsafe file name", None),
    "zip-slip-drive": (TWO_CLASSES + [("C:/evil.png", _png((0, 0, 0)))], "unsafe file name", None),
    "nested-archive-only": ([("inner.zip", _zip(TWO_CLASSES))], "not unpacked", None),
    "nested-archive-beside": (TWO_CLASSES + [("cat/more.zip", _zip(TWO_CLASSES))], None, "not unpacked"),
    "one-class": (TWO_CLASSES[:10], "only one class folder", None),
    "class-without-images": (TWO_CLASSES + [("bird/", None), ("fish/readme.txt", b"hi")], None, "no images"),
    "one-class-and-an-empty-one": (TWO_CLASSES[:10] + [("dog/", None)], "dog has no images", None),
    "no-images": ([("a/readme.txt", b"hi")], "holds no images", None),
    "loose-images": ([(f"{i}.png", _png((i, i, i))) for i in range(12)], "not in class folders", None),
    "unreadable-image": (TWO_CLASSES + [("cat/broken.png", b"\x89PNG broken")], None, "unreadable"),
    "bomb-inside": (TWO_CLASSES + [("cat/bomb.png", bilevel_png(20_000, 20_000))], None, "unreadable"),
    "not-a-zip": (None, "not a zip file", None),
}


@pytest.mark.parametrize("kind", list(ZIPS))
def test_core_image_zip(kind, tmp_path):
    entries, message, note = ZIPS[kind]
    data = b"PK? no" if entries is None else _zip(entries)
    if message:
        with pytest.raises(DataError, match=message):
            D.load_image_zip(data)
    else:
        t0 = time.perf_counter()
        ds = D.load_image_zip(data)
        assert time.perf_counter() - t0 < 5
        assert ds.class_names == ["cat", "dog"] and len(ds) == 20
        if note:
            assert any(note in n for n in ds.notes), ds.notes
    assert not (tmp_path.parent / "evil.png").exists() and not Path("/tmp/evil.png").exists()
