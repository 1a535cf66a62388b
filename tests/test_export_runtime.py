"""ONNX export and ONNX Runtime: every architecture matches PyTorch; providers are chosen honestly."""
import numpy as np
import pytest
import torch

from bigmodel_core.convert.export import export_onnx, parity
from bigmodel_core.errors import ModelError
from bigmodel_core.nn.zoo import build_model
from bigmodel_core.serve import runtime

IMAGE_CASES = {
    "lenet-cifar": ("lenet", dict(in_channels=3, size=32, num_classes=10)),
    "lenet-mnist": ("lenet", dict(in_channels=1, size=28, num_classes=10)),
    "mlp-seed": ("mlp-seed", dict(in_channels=1, size=28, num_classes=10, in_features=784)),
    "small-cnn": ("small-cnn", dict(in_channels=3, size=32, num_classes=10, widths=[16, 32])),
}


def _train_mode_noise(model):
    """Give BatchNorm non-trivial running statistics so parity tests more than identity layers."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_image_architectures_match_pytorch(case, tmp_path):
    arch, cfg = IMAGE_CASES[case]
    torch.manual_seed(0)
    model = _train_mode_noise(build_model(arch, cfg))
    c, s = cfg["in_channels"], cfg["size"]
    path = export_onnx(model, {"pixels": torch.rand(2, c, s, s)}, tmp_path / "m.onnx")
    feed = {"pixels": np.random.default_rng(1).random((5, c, s, s), dtype=np.float32)}   # another batch size
    assert parity(model, path, feed) <= 1e-4


@pytest.mark.parametrize("regression", [False, True])
def test_tabular_architectures_match_pytorch(regression, tmp_path):
    for arch, hidden in (("linear", []), ("mlp", [32, 16])):
        model = build_model(arch, dict(in_features=7, out_features=1 if regression else 3, hidden=hidden,
                                       regression=regression, target_mean=150.0, target_std=70.0)).eval()
        path = export_onnx(model, {"features": torch.randn(2, 7)}, tmp_path / f"{arch}.onnx",
                           output_name="prediction" if regression else "logits")
        feed = {"features": np.random.default_rng(2).standard_normal((9, 7)).astype(np.float32)}
        assert parity(model, path, feed) <= 1e-4
        if regression:   # the output is in target units: de-standardisation lives in the graph
            session, _ = runtime.make_session(path, device="cpu")
            assert session.run(None, feed)[0].shape == (9,)


def _text_feed(batch, length, vocab=400):
    rng = np.random.default_rng(3)
    ids = rng.integers(5, vocab, (batch, length)).astype(np.int64)
    mask = np.ones((batch, length), dtype=np.int64)
    mask[0, length // 2:] = 0
    ids[0, length // 2:] = 0
    return {"input_ids": ids, "attention_mask": mask}


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_tiny_bert_matches_pytorch_with_dynamic_batch_and_sequence(pooling, tmp_path):
    from bigmodel_core.nn.text_nets import tiny_bert_config

    torch.manual_seed(0)
    model = build_model("tiny-bert", dict(bert=tiny_bert_config(400, 2, hidden=64, layers=2, heads=2,
                                                                   intermediate=128, max_position=66),
                                          pooling=pooling)).eval()
    example = {k: torch.from_numpy(v) for k, v in _text_feed(2, 8).items()}
    path = export_onnx(model, example, tmp_path / "bert.onnx", sequence_axis=True)
    assert parity(model, path, _text_feed(5, 23)) <= 1e-4           # other batch and sequence length


def test_minilm_classifier_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    model = build_model("minilm", dict(num_classes=2)).eval()
    example = {k: torch.from_numpy(v) for k, v in _text_feed(2, 8, vocab=30000).items()}
    path = export_onnx(model, example, tmp_path / "minilm.onnx", sequence_axis=True)
    assert parity(model, path, _text_feed(3, 17, vocab=30000)) <= 1e-4


# ----------------------------------------------------------------------------- providers

def test_cpu_machine_asks_for_cpu_only():
    avail = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert runtime.choose_providers("auto", avail, cuda_ok=False) == ["CPUExecutionProvider"]
    assert runtime.choose_providers("cpu", avail, cuda_ok=True) == ["CPUExecutionProvider"]


def test_gpu_machine_asks_for_cuda_first():
    avail = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert runtime.choose_providers("auto", avail, cuda_ok=True) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert runtime.choose_providers("cuda", avail, cuda_ok=True)[0] == "CUDAExecutionProvider"


def test_cuda_requested_without_gpu_is_a_clear_error():
    with pytest.raises(ModelError, match="no usable GPU"):
        runtime.choose_providers("cuda", ["CUDAExecutionProvider", "CPUExecutionProvider"], cuda_ok=False)


def test_cuda_session_preloads_dlls_and_reports_the_provider(monkeypatch, tmp_path):
    import onnxruntime as ort

    calls = []

    class FakeSession:
        def __init__(self, source, sess_options=None, providers=None):
            calls.append(("session", providers))

        def get_providers(self):
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]

    monkeypatch.setattr(ort, "preload_dlls", lambda *a, **k: calls.append(("preload",)), raising=False)
    monkeypatch.setattr(ort, "InferenceSession", FakeSession)
    _, provider = runtime.make_session(tmp_path / "x.onnx", providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert calls[0] == ("preload",), "preload_dlls must run before the CUDA session is created"
    assert provider == "CUDAExecutionProvider"


def test_real_session_on_this_machine_reports_what_ran(tmp_path):
    model = build_model("linear", dict(in_features=3, out_features=2)).eval()
    path = export_onnx(model, {"features": torch.randn(2, 3)}, tmp_path / "m.onnx")
    _, provider = runtime.make_session(path)
    expected = "CUDAExecutionProvider" if runtime.gpu_usable() else "CPUExecutionProvider"
    assert provider == expected


def test_malformed_onnx_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf at all")
    with pytest.raises(ModelError, match="could not load"):
        runtime.make_session(bad, device="cpu")


@pytest.mark.parametrize("order", [2, 3])
def test_wide_and_deep_tiny_bert_exports_with_parity_and_reads_bigrams(tmp_path, order):
    """The n-gram bag beside the transformer: integer hashing survives ONNX export (any length),
    padding is ignored, and swapping two tokens changes its votes (bigrams are ordered)."""
    import torch

    from bigmodel_core.convert.export import export_onnx, parity
    from bigmodel_core.nn.text_nets import NgramBag, TinyBert, tiny_bert_config

    torch.manual_seed(0)
    model = TinyBert(tiny_bert_config(50, 2, hidden=16, layers=1, heads=2, intermediate=32), ngram_buckets=97,
                     ngram_order=order).eval()
    for table in (model.ngrams.unigram, model.ngrams.bigram, model.ngrams.trigram):
        if table is not None:
            torch.nn.init.normal_(table.weight)
    ids = torch.randint(5, 50, (3, 9))
    mask = torch.ones_like(ids)
    mask[0, 6:] = 0
    path = export_onnx(model, {"input_ids": ids, "attention_mask": mask}, tmp_path / "wide.onnx", sequence_axis=True)
    assert parity(model, path, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}) < 1e-5
    longer = torch.randint(5, 50, (2, 17))
    assert parity(model, path, {"input_ids": longer.numpy(), "attention_mask": np.ones((2, 17), np.int64)}) < 1e-5

    bag = model.ngrams
    padded = bag(ids[:1], mask[:1])
    ids_other_pad = ids[:1].clone()
    ids_other_pad[0, 6:] = 7                                  # different ids under the padding
    assert torch.allclose(padded, bag(ids_other_pad, mask[:1]))
    swapped = ids[1:2].clone()
    swapped[0, [2, 3]] = swapped[0, [3, 2]]
    assert not torch.allclose(bag(ids[1:2], mask[1:2]), bag(swapped, mask[1:2]))
    assert isinstance(bag, NgramBag) and bag.bigram.num_embeddings == 97
    assert (bag.trigram is not None) == (order == 3)


def test_trigram_votes_are_the_sum_of_each_triple_of_neighbours():
    """Reference check: the order-3 bag equals a plain Python loop over uni-, bi- and trigrams."""
    import torch

    from bigmodel_core.nn.text_nets import NgramBag

    torch.manual_seed(0)
    bag = NgramBag(30, 2, 53, gain=1.0, order=3)
    for table in (bag.unigram, bag.bigram, bag.trigram):
        torch.nn.init.normal_(table.weight)
    ids = torch.tensor([[5, 9, 12, 7, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    real = [5, 9, 12, 7]
    votes = sum(bag.unigram.weight[t] for t in real)
    votes = votes + sum(bag.bigram.weight[(a * 30 + b) % 53] for a, b in zip(real, real[1:], strict=False))
    votes = votes + sum(bag.trigram.weight[((a * 30 + b) * 30 + c) % 53]
                        for a, b, c in zip(real, real[1:], real[2:], strict=False))
    expected = votes / (4 + 3 + 2) ** 0.5
    assert torch.allclose(bag(ids, mask)[0], expected, atol=1e-6)
    with pytest.raises(ValueError, match="order must be 2 or 3"):
        NgramBag(30, 2, 53, order=4)
