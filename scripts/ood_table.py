"""Markdown tables of the familiarity check for docs/benchmarks.md (needs the full MNIST and CIFAR-10).

The first table comes from the cards (written by `build-defaults --ood-only`). The second
measures what the predict page does to a picture given to a digit model: a photo is
inverted if light, cropped to its "ink" and centred like an MNIST digit before the model
(and the check) sees it; and a test digit redrawn as pure white strokes on black, as the
drawing canvas gives them. Run: `.venv/bin/python scripts/ood_table.py`.
"""
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bigmodel_core.data.loaders import load_dataset  # noqa: E402
from bigmodel_core.serve import ood, registry  # noqa: E402
from bigmodel_core.serve.card import ModelCard  # noqa: E402
from ui import predict_tools as P  # noqa: E402

MODELS = ["mnist-cnn", "mnist-mlp-seed", "cifar10-cnn", "cifar10-lenet-seed"]

print("| model | familiar (test) | unfamiliar (test) | AUROC | energy AUROC | max-softmax AUROC "
      "| threshold | familiar flagged | unfamiliar caught |")
print("|---|---|---|---|---|---|---|---|---|")
for model_id in MODELS:
    o = ModelCard.read(ROOT / "models" / model_id / "card.json").ood
    a = o["auroc"]
    print(f"| {model_id} | {a['familiar']} ({a['familiar_rows']:,}) | {a['unfamiliar']} ({a['unfamiliar_rows']:,}, "
          f"as {a['converted']}) | **{a['auroc']:.4f}** | {a['baselines']['energy']:.4f} "
          f"| {a['baselines']['max_softmax']:.4f} | {o['threshold']:.2f} | {a['flagged_familiar']:.1%} "
          f"| {a['caught_unfamiliar']:.1%} |")


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def redrawn(image: np.ndarray) -> np.ndarray:
    """A digit as the canvas draws it: 280×280, pure white strokes on black, then framed like MNIST."""
    big = np.asarray(Image.fromarray(image[0]).resize((280, 280), Image.Resampling.BILINEAR))
    return P.center_digit(np.where(big > 100, 255, 0).astype(np.uint8))


mnist, cifar = load_dataset("mnist"), load_dataset("cifar10-images")
digits = mnist.images[mnist.split["test"]]
photos = cifar.images[cifar.split["test"]]
framed_photos = np.stack([P.digit_from_picture(png(p.transpose(1, 2, 0))) for p in photos])[:, None]
drawn = np.stack([redrawn(d) for d in digits])[:, None]
print("\n| digit model | AUROC: test digits vs photos framed as digits | photos flagged | test digits flagged "
      "| redrawn test digits flagged |")
print("|---|---|---|---|---|")
for model_id in ("mnist-cnn", "mnist-mlp-seed"):
    entry = registry.load(model_id)
    checker = ood.Checker(entry.folder, entry.card, device="cpu")
    thr = checker.detector.threshold

    def score(images, checker=checker, entry=entry):
        return checker.scores(ood.model_inputs(images, entry.card.preprocessing))[1]

    s_digits, s_photos, s_drawn = score(digits), score(framed_photos), score(drawn)
    print(f"| {model_id} | {ood.auroc(s_digits, s_photos):.4f} | {np.mean(s_photos > thr):.1%} "
          f"| {np.mean(s_digits > thr):.1%} | {np.mean(s_drawn > thr):.1%} |")
