"""Batch augmentation: shapes kept, reproducible per generator seed, crop-flip only moves pixels."""
import itertools

import pytest
import torch
import torch.nn.functional as F

from bigmodel_core.nn.augment import crop_flip, make_augment, random_affine

FNS = {"affine": random_affine, "crop-flip": crop_flip}


def _batch(n=6, c=3, h=16, w=16, seed=0):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed))


def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", list(FNS))
def test_shape_and_dtype_are_kept(name):
    for shape in ((1, 1, 8, 8), (5, 3, 16, 16), (4, 1, 12, 20)):
        x = torch.rand(*shape)
        y = FNS[name](x, _gen(0))
        assert y.shape == x.shape and y.dtype == x.dtype and torch.isfinite(y).all()


@pytest.mark.parametrize("name", list(FNS))
def test_same_seed_same_output_different_seed_different_output(name):
    x = _batch()
    a, b = FNS[name](x, _gen(7)), FNS[name](x, _gen(7))
    assert torch.equal(a, b)
    outs = [FNS[name](x, _gen(s)) for s in range(1, 5)]
    assert any(not torch.equal(a, o) for o in outs)
    assert not torch.equal(a, x)                             # it does change the pictures


def test_generator_state_advances_so_successive_batches_differ():
    x, gen = _batch(), _gen(3)
    assert not torch.equal(random_affine(x, gen), random_affine(x, gen))


def test_each_image_gets_its_own_transform():
    one = _batch(n=1)
    x = one.repeat(8, 1, 1, 1)                               # eight copies of the same picture
    for fn in FNS.values():
        y = fn(x, _gen(0))
        distinct = {tuple(img.flatten().tolist()) for img in y}
        assert len(distinct) > 1


def _shift(img, dy, dx):
    """img [C, H, W] moved by (dy, dx) with zero fill."""
    _, h, w = img.shape
    p = max(abs(dy), abs(dx))
    padded = F.pad(img, (p, p, p, p))
    return padded[:, p - dy:p - dy + h, p - dx:p - dx + w]


def _is_shift_or_flip(out, img, pad):
    for dy, dx, flip in itertools.product(range(-pad, pad + 1), range(-pad, pad + 1), (False, True)):
        cand = _shift(img, dy, dx)
        if flip:
            cand = cand.flip(2)
        if torch.equal(out, cand):
            return True
    return False


@pytest.mark.parametrize("pad", [0, 2, 4])
def test_crop_flip_only_shifts_and_flips(pad):
    x = _batch(n=10, c=2, h=12, w=12, seed=pad)
    y = crop_flip(x, _gen(pad), pad=pad)
    for i in range(len(x)):
        assert _is_shift_or_flip(y[i], x[i], pad), f"image {i} is not a shift ≤ {pad} px and/or a mirror"
    if pad == 0:                                             # nothing to shift: only mirrors remain
        assert all(torch.equal(y[i], x[i]) or torch.equal(y[i], x[i].flip(2)) for i in range(len(x)))


def test_crop_flip_keeps_a_centred_blob_whole():
    x = torch.zeros(16, 1, 20, 20)
    blob = torch.arange(1, 17, dtype=torch.float32).reshape(4, 4)
    x[:, 0, 8:12, 8:12] = blob                               # 8 px of margin on every side
    for pad in (1, 4):
        y = crop_flip(x, _gen(11), pad=pad)
        for img in y:
            assert torch.equal(img.flatten().sort().values, x[0].flatten().sort().values)
        moved = sum(not torch.equal(img, x[0]) for img in y)
        assert moved >= 8                                    # most of the 16 copies were shifted or flipped


def test_affine_with_no_rotation_scale_or_shift_is_the_identity():
    x = _batch(n=4, c=3, h=16, w=16)
    y = random_affine(x, _gen(0), degrees=0.0, scale=(1.0, 1.0), shift=0.0)
    assert (y - x).abs().max() < 1e-5


def test_affine_defaults_stay_close_to_the_original():
    """Small rotations, ±10 % zoom, ±10 % shift: a big bright square stays mostly where it was."""
    x = torch.zeros(8, 1, 28, 28)
    x[:, :, 8:20, 8:20] = 1.0
    y = random_affine(x, _gen(5))
    overlap = (y * x).sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))
    assert (overlap > 0.5).all() and (y.min() >= -1e-6) and (y.max() <= 1 + 1e-6)


def test_make_augment_names():
    for none in (None, "", "none"):
        assert make_augment(none) is None
    with pytest.raises(ValueError, match="unknown augmentation 'mixup'"):
        make_augment("mixup")


@pytest.mark.parametrize("name", list(FNS))
def test_make_augment_hook_transforms_only_the_pixels(name):
    hook = make_augment(name)
    x, extra = _batch(n=3), torch.tensor([1, 2, 3])
    out = hook((x, extra), _gen(4))
    assert isinstance(out, tuple) and len(out) == 2 and out[1] is extra
    assert torch.equal(out[0], FNS[name](x, _gen(4)))
