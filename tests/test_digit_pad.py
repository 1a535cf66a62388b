"""The digit pad's Python side: the PNG it sends becomes exactly the pixels drawn; anything else is no drawing.

The drawing itself (a stroke answered, Undo, Clear) is driven in Chromium by
tests/test_browser.py::test_draw_a_digit_on_the_pad.
"""
from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from ui import digit_pad


def data_url(img: Image.Image, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buf.getvalue()).decode()


def test_a_drawing_comes_back_pixel_for_pixel():
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[40:240, 130:150, :3] = 255                    # a white bar: a "1"
    got = digit_pad.pixels(data_url(Image.fromarray(rgba, "RGBA")))
    assert got.shape == (280, 280, 4) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, rgba)


def test_an_rgb_png_is_given_an_alpha_channel():
    got = digit_pad.pixels(data_url(Image.new("RGB", (28, 28), (255, 255, 255))))
    assert got.shape == (28, 28, 4) and (got == 255).all()


def test_an_empty_pad_and_bad_payloads_are_no_drawing():
    assert digit_pad.pixels(None) is None                                   # cleared, or not drawn yet
    assert digit_pad.pixels("") is None
    assert digit_pad.pixels("data:image/png;base64,not base64!") is None
    assert digit_pad.pixels("data:image/png;base64," + base64.b64encode(b"not a png").decode()) is None
    assert digit_pad.pixels(data_url(Image.new("RGB", (8, 8)), "JPEG")) is None     # not what the pad sends
    assert digit_pad.pixels("data:image/png;base64," + "A" * digit_pad.MAX_URL) is None
