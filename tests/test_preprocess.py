"""Input preparation: pictures of every kind → [N, C, H, W] in [0, 1], texts cleaned, tables encoded."""
import io
import struct
import time
import zlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFile

from bigmodel_core.errors import DataError
from bigmodel_core.serve import preprocess as pp
from tests.conftest import bilevel_png

RGB_SPEC = dict(channels=3, height=12, width=16)
GRAY_SPEC = dict(channels=1, height=12, width=16)


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    """A 12×16 RGB picture (HWC uint8) with smooth content, so JPEG keeps it close."""
    yy, xx = np.mgrid[0:12, 0:16]
    return np.stack([xx * 15, yy * 20, 255 - xx * 10], axis=-1).astype(np.uint8)


# ----------------------------------------------------------------------------- image sources

def test_every_source_kind_gives_the_same_pixels(picture, tmp_path):
    img = Image.fromarray(picture)
    (tmp_path / "p.png").write_bytes(encode(img))
    expected = picture.transpose(2, 0, 1).astype(np.float32) / 255.0          # CHW in [0, 1]
    sources = [encode(img), bytearray(encode(img)), tmp_path / "p.png", str(tmp_path / "p.png"),
               io.BytesIO(encode(img)), img, picture, picture.transpose(2, 0, 1).copy()]
    out = pp.prepare_images(sources, RGB_SPEC)
    assert out.shape == (len(sources), 3, 12, 16) and out.dtype == np.float32
    for i in range(len(sources)):
        np.testing.assert_allclose(out[i], expected, atol=1e-6, err_msg=f"source #{i}")


def test_jpeg_bytes_are_close_to_the_original(picture):
    out = pp.prepare_images([encode(Image.fromarray(picture), "JPEG", quality=95)], RGB_SPEC)
    ref = picture.transpose(2, 0, 1) / 255.0
    assert out.shape == (1, 3, 12, 16)
    assert np.abs(out[0] - ref).mean() < 0.03


def test_chw_and_hwc_single_channel_arrays(picture):
    gray = picture[..., 0]
    out = pp.prepare_images([gray, gray[None], gray[..., None]], GRAY_SPEC)
    for i in range(3):
        np.testing.assert_allclose(out[i, 0], gray / 255.0, atol=1e-6)


def test_float_array_in_unit_range_is_not_darkened():
    arr = np.full((12, 16), 0.5, dtype=np.float32)
    out = pp.prepare_images([arr], GRAY_SPEC)
    assert abs(float(out.mean()) - 0.5) < 0.01


# ----------------------------------------------------------------------------- image modes

def test_grayscale_png_becomes_three_equal_channels_and_rgb_becomes_one(picture):
    gray = Image.fromarray(picture[..., 1])
    out = pp.prepare_images([encode(gray)], RGB_SPEC)[0]
    np.testing.assert_allclose(out[0], out[1])
    np.testing.assert_allclose(out[1], out[2])
    np.testing.assert_allclose(out[0], picture[..., 1] / 255.0, atol=1e-6)
    one = pp.prepare_images([encode(Image.fromarray(picture))], GRAY_SPEC)
    assert one.shape == (1, 1, 12, 16)
    assert one.min() > 0.0 and one.max() < 1.0


def test_rgba_transparency_is_composited_on_white():
    rgba = np.zeros((12, 16, 4), dtype=np.uint8)
    rgba[..., 0] = 255                                  # red …
    rgba[:, :8, 3] = 255                                # … opaque on the left half, transparent on the right
    out = pp.prepare_images([encode(Image.fromarray(rgba, "RGBA"))], RGB_SPEC)[0]
    np.testing.assert_allclose(out[:, :, :8], np.array([1, 0, 0], np.float32)[:, None, None] * np.ones((12, 8)))
    np.testing.assert_allclose(out[:, :, 8:], 1.0)      # white, not black
    half = np.zeros((12, 16, 4), dtype=np.uint8)
    half[..., 3] = 128                                  # half-transparent black → mid grey
    grey = pp.prepare_images([Image.fromarray(half, "RGBA")], GRAY_SPEC)
    assert np.all(np.abs(grey - 127 / 255) < 0.01)


def test_la_image_composites_on_white_too():
    la = Image.new("LA", (16, 12), (0, 0))              # black, fully transparent
    out = pp.prepare_images([encode(la)], GRAY_SPEC)
    np.testing.assert_allclose(out, 1.0)


def test_palette_images_convert_including_their_transparency():
    pal = Image.new("P", (16, 12), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)  # 0 = red, 1 = blue
    pal.paste(1, (0, 0, 8, 12))
    out = pp.prepare_images([encode(pal)], RGB_SPEC)[0]
    np.testing.assert_allclose(out[:, 0, 0], [0, 0, 1])  # blue
    np.testing.assert_allclose(out[:, 0, 15], [1, 0, 0])  # red
    see_through = pp.prepare_images([encode(pal, transparency=1)], RGB_SPEC)[0]
    np.testing.assert_allclose(see_through[:, 0, 0], [1, 1, 1])   # transparent index → white
    np.testing.assert_allclose(see_through[:, 0, 15], [1, 0, 0])


def test_cmyk_jpeg_converts_to_rgb(picture):
    cmyk = Image.fromarray(picture).convert("CMYK")
    for data in (encode(cmyk, "JPEG", quality=95), cmyk):
        out = pp.prepare_images([data], RGB_SPEC)
        assert out.shape == (1, 3, 12, 16)
        assert np.abs(out[0] - picture.transpose(2, 0, 1) / 255.0).mean() < 0.05


def test_16_bit_png_converts_with_its_gradient_kept():
    a16 = (np.arange(12 * 16, dtype=np.uint16).reshape(12, 16) * 300)       # 0 … 57,300
    img = Image.fromarray(a16)
    assert Image.open(io.BytesIO(encode(img))).mode.startswith("I")
    for spec in (GRAY_SPEC, RGB_SPEC):
        out = pp.prepare_images([encode(img)], spec)[0, 0].ravel()
        assert np.all(np.diff(out) >= 0) and out[0] == 0.0
        assert abs(out[-1] - 57_300 / 65_535) <= 1.5 / 255          # full scale is 65535, not the image max


def test_16_bit_png_matches_its_8_bit_version():
    a16 = np.full((12, 16), 30_000, dtype=np.uint16)
    a16[:, :8] = 10_000
    out16 = pp.prepare_images([encode(Image.fromarray(a16))], GRAY_SPEC)
    out8 = pp.prepare_images([encode(Image.fromarray((a16 // 257).astype(np.uint8)))], GRAY_SPEC)
    np.testing.assert_allclose(out16, out8, atol=1.5 / 255)


# ----------------------------------------------------------------------------- size and invert

def test_resized_to_the_model_input_size(picture):
    big = Image.fromarray(picture).resize((160, 120), Image.Resampling.NEAREST)
    small = Image.fromarray(picture).resize((5, 3))
    out = pp.prepare_images([encode(big), small], dict(channels=1, height=28, width=28))
    assert out.shape == (2, 1, 28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    wide = pp.prepare_images([picture], dict(channels=3, height=8, width=32))
    assert wide.shape == (1, 3, 8, 32)


def test_invert_turns_dark_on_light_into_light_on_dark():
    drawing = np.full((12, 16), 255, dtype=np.uint8)        # white paper …
    drawing[4:8, 6:10] = 0                                  # … black ink
    plain = pp.prepare_images([drawing], GRAY_SPEC)
    inverted = pp.prepare_images([drawing], dict(GRAY_SPEC, invert=True))
    np.testing.assert_allclose(inverted, 1.0 - plain, atol=1e-7)
    assert inverted[0, 0, 0, 0] == 0.0 and inverted[0, 0, 5, 7] == 1.0


def test_empty_batch_gives_an_empty_array():
    assert pp.prepare_images([], GRAY_SPEC).shape == (0, 1, 12, 16)


# ----------------------------------------------------------------------------- broken files

@pytest.mark.parametrize("kind", ["text-as-png", "truncated-png", "truncated-jpeg", "empty"])
def test_unreadable_files_are_a_clear_data_error(kind, tmp_path, picture):
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = {
        "text-as-png": b"name,score\nalice,3\n",
        "truncated-png": encode(noisy)[: len(encode(noisy)) // 2],
        "truncated-jpeg": encode(noisy, "JPEG")[: len(encode(noisy, "JPEG")) // 2],
        "empty": b"",
    }[kind]
    path = tmp_path / ("photo.jpg" if "jpeg" in kind else "photo.png")
    path.write_bytes(data)
    for source in (path, data):
        with pytest.raises(DataError, match="not a readable image") as info:
            pp.prepare_images([source], RGB_SPEC)
        assert "PNG or JPEG" in info.value.hint


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        pp.prepare_images([tmp_path / "nope.png"], RGB_SPEC)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return bilevel_png(20_000, 20_000)                     # 400 megapixels in ~50 KB


def _count_decodes(monkeypatch) -> list:
    calls = []
    real = ImageFile.ImageFile.load

    def load(self, *a, **k):
        calls.append(self.size)
        return real(self, *a, **k)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return calls


def test_decompression_bomb_is_refused_quickly_without_decoding(bomb, monkeypatch, tmp_path):
    assert len(bomb) < 100_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with Image.open(io.BytesIO(bomb)) as probe:            # a valid PNG whose header says 20000×20000
        assert probe.size == (20_000, 20_000) and probe.mode == "1"
    decodes = _count_decodes(monkeypatch)
    (tmp_path / "bomb.png").write_bytes(bomb)
    for source in (bomb, tmp_path / "bomb.png"):
        t0 = time.perf_counter()
        with pytest.raises(DataError, match="too large") as info:
            pp.prepare_images([source], GRAY_SPEC)
        assert time.perf_counter() - t0 < 1.0
        assert "40 megapixels" in info.value.hint
    assert decodes == []


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_image_just_over_the_pixel_limit_is_refused_before_decoding(monkeypatch):
    data = bilevel_png(7_000, 7_000)                      # 49 MP: over 40 MP, under PIL's own 2× error line
    decodes = _count_decodes(monkeypatch)
    with pytest.raises(DataError, match="7000×7000"):
        pp.prepare_images([data], GRAY_SPEC)
    assert decodes == []


def test_palette_png_claiming_a_huge_size_is_refused(picture):
    small = encode(Image.fromarray(picture).convert("P"))
    ihdr = small.index(b"IHDR")
    body = struct.pack(">II", 20_000, 20_000) + small[ihdr + 12: ihdr + 17]
    patched = small[:ihdr + 4] + body + struct.pack(">I", zlib.crc32(b"IHDR" + body)) + small[ihdr + 21:]
    with pytest.raises(DataError, match="too large"):
        pp.prepare_images([patched], RGB_SPEC)


# ----------------------------------------------------------------------------- texts

@pytest.mark.parametrize("text", ["", "   ", "\n\t  \r\n", "\u3000"])
def test_empty_or_blank_text_is_refused(text):
    with pytest.raises(DataError, match="empty") as info:
        pp.clean_texts(["a fine sentence", text])
    assert info.value.hint


def test_very_long_text_is_cut_with_a_notice():
    long = "word " * 20_000                                  # 100,000 characters
    texts, notices = pp.clean_texts([long, "short one"])
    assert len(texts[0]) == pp.MAX_TEXT_CHARS == 20_000 and texts[0] == long.strip()[:20_000]
    assert texts[1] == "short one"
    assert len(notices) == 1 and "99,999" in notices[0] and "20,000" in notices[0]


def test_emoji_and_mixed_scripts_are_kept():
    text = "  Great 👍🏽 film! 这部电影很好看 — très bien, очень хорошо 👨‍👩‍👧 مرحبا  "
    texts, notices = pp.clean_texts([text])
    assert texts == [text.strip()] and notices == []


# ----------------------------------------------------------------------------- tables

TYPES = {"age": "numeric", "colour": "categorical", "income": "numeric"}


@pytest.fixture
def train_frame():
    return pd.DataFrame({"age": [20, 30, 40, np.nan, 50], "colour": ["red", "blue", "red", "green", None],
                         "income": [1.0, 2.0, np.inf, 4.0, 5.0], "target": [0, 1, 0, 1, 1]})


def test_encoder_fit_and_transform(train_frame):
    enc = pp.TabularEncoder.fit(train_frame, TYPES)
    assert enc.feature_names == ["age", "colour=blue", "colour=green", "colour=red", "income"]
    assert enc.numeric["age"]["median"] == 35.0 and enc.numeric["income"]["median"] == 3.0   # inf ignored
    x = enc.transform(pd.DataFrame({"age": [30.0], "colour": ["green"], "income": [2.0]}))
    assert x.dtype == np.float32 and x.shape == (1, 5)
    age = enc.numeric["age"]
    assert x[0, 0] == pytest.approx((30 - age["mean"]) / age["std"])
    assert x[0, 1:4].tolist() == [0.0, 1.0, 0.0]


def test_encoder_json_round_trip_gives_identical_arrays(train_frame):
    enc = pp.TabularEncoder.fit(train_frame, TYPES)
    again = pp.TabularEncoder.from_json(enc.to_json())
    assert again.feature_names == enc.feature_names
    rows = pd.DataFrame({"age": [18, 33.3, np.nan, 1e6], "colour": ["red", "blue", "pink", None],
                         "income": [0.1, -np.inf, 7.0, np.nan]})
    a, b = enc.transform(rows), again.transform(rows)
    assert a.dtype == b.dtype == np.float32
    assert np.array_equal(a, b)


def test_nan_and_inf_become_the_training_median(train_frame):
    enc = pp.TabularEncoder.fit(train_frame, TYPES)
    rows = pd.DataFrame({"age": [np.nan, np.inf, -np.inf, "n/a"], "colour": ["red"] * 4,
                         "income": [np.nan, np.inf, -np.inf, "?"]})
    x = enc.transform(rows)
    assert np.isfinite(x).all()
    at_median = enc.transform(pd.DataFrame({"age": [35.0], "colour": ["red"], "income": [3.0]}))
    for i in range(4):
        np.testing.assert_array_equal(x[i], at_median[0])


def test_unknown_category_is_all_zero_one_hot(train_frame):
    enc = pp.TabularEncoder.fit(train_frame, TYPES)
    x = enc.transform(pd.DataFrame({"age": [30, 30, 30], "colour": ["purple", None, "Red"], "income": [2, 2, 2]}))
    assert np.all(x[:, 1:4] == 0.0)                         # no known colour is switched on
    assert np.all(x[:, 0] == x[0, 0])


def test_missing_columns_are_named_in_the_error(train_frame):
    enc = pp.TabularEncoder.fit(train_frame, TYPES)
    with pytest.raises(DataError, match="Missing feature columns: age, income") as info:
        enc.transform(pd.DataFrame({"colour": ["red"], "other": [1]}))
    assert "age, colour, income" in info.value.hint


def test_numeric_column_without_numbers_is_refused():
    with pytest.raises(DataError, match="'x' has no numeric values"):
        pp.TabularEncoder.fit(pd.DataFrame({"x": ["a", "b", None]}), {"x": "numeric"})


def test_integer_category_still_matches_when_a_cell_is_blank():
    enc = pp.TabularEncoder.fit(pd.DataFrame({"grade": [1, 2, 3, 1]}), {"grade": "categorical"})
    from bigmodel_core.data.csvio import read_csv_safely

    rows = read_csv_safely(b"grade,x\n1,0\n,0\n2,0\n")      # a user's CSV with one blank grade
    x = enc.transform(rows)
    assert x[0].tolist() == [1.0, 0.0, 0.0] and x[2].tolist() == [0.0, 1.0, 0.0]


# ----------------------------------------------------------------------------- piecewise-linear bins

def test_piecewise_linear_bins_are_zero_below_one_above_and_linear_inside():
    frame = pd.DataFrame({"x": np.arange(0.0, 101.0)})                      # quantile edges 0, 25, 50, 75, 100
    enc = pp.TabularEncoder.fit(frame, {"x": "numeric"}, bins=4)
    assert enc.numeric["x"]["edges"] == [0.0, 25.0, 50.0, 75.0, 100.0]
    assert enc.feature_names == ["x", "x bin 1", "x bin 2", "x bin 3", "x bin 4"]
    x = enc.transform(pd.DataFrame({"x": [60.0, -5.0, 500.0]}))
    assert x[0, 1:].tolist() == pytest.approx([1.0, 1.0, 0.4, 0.0])           # 60 is 40 % into the third bin
    assert x[1, 1:].tolist() == [0.0] * 4 and x[2, 1:].tolist() == [1.0] * 4   # outside the training range: clipped


def test_tree_bin_edges_fall_on_the_threshold_that_decides_the_target():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 100, 2000)
    frame, y = pd.DataFrame({"x": x}), (x > 91.3).astype(int)                 # a failure above 91.3, in the tail
    tree = pp.TabularEncoder.fit(frame, {"x": "numeric"}, bins=4, bin_edges="tree", target=y)
    quantile = pp.TabularEncoder.fit(frame, {"x": "numeric"}, bins=4)
    gap = lambda edges: min(abs(e - 91.3) for e in edges)                     # noqa: E731
    assert gap(tree.numeric["x"]["edges"]) < 0.2 < 5 < gap(quantile.numeric["x"]["edges"])
    again = pp.TabularEncoder.from_json(tree.to_json())                       # edges travel with the model
    rows = pd.DataFrame({"x": [91.0, 91.6, 50.0]})
    assert np.array_equal(again.transform(rows), tree.transform(rows))


def test_tree_bin_edges_need_the_training_target():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="need the training target"):
        pp.TabularEncoder.fit(frame, {"x": "numeric"}, bins=4, bin_edges="tree")
    with pytest.raises(DataError, match="Unknown bin edges"):
        pp.TabularEncoder.fit(frame, {"x": "numeric"}, bins=4, bin_edges="kmeans")


def test_derived_features_are_computed_from_the_raw_inputs_and_standardised():
    frame = pd.DataFrame({"torque": [10.0, 20.0, 30.0, np.nan], "rpm": [1000.0, 1500.0, 2000.0, 1500.0]})
    derived = [dict(name="power", op="product", columns=["torque", "rpm"]),
               dict(name="gap", op="difference", columns=["rpm", "torque"])]
    enc = pp.TabularEncoder.fit(frame, {"torque": "numeric", "rpm": "numeric"}, derived=derived)
    assert enc.feature_names == ["torque", "rpm", "power", "gap"]
    power = np.array([10e3, 30e3, 60e3, 20.0 * 1500])                         # the blank torque is the median, 20
    x = enc.transform(frame)
    assert x[:, 2] == pytest.approx((power - power.mean()) / power.std(), rel=1e-5)
    assert x[:, 3] == pytest.approx(((frame["rpm"] - frame["torque"].fillna(20.0)) - enc.derived[1]["mean"])
                                    / enc.derived[1]["std"], rel=1e-5)
    with pytest.raises(DataError, match="Cannot derive 'bad'"):
        pp.TabularEncoder.fit(frame, {"torque": "numeric", "rpm": "numeric"},
                              derived=[dict(name="bad", op="ratio", columns=["torque", "rpm"])])
