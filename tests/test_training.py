"""The Trainer: events in order, stop from another thread within a batch, divergence, early stopping, seeds."""
import threading

import pytest
import torch
import torch.nn.functional as F

from bigmodel_core.errors import TrainingError
from bigmodel_core.train.trainer import TrainConfig, Trainer, pick_device


def _toy(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def _trainer(config, model=None, evaluate=None):
    x, y = _toy()
    model = model or torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))

    def batches(epoch, gen):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), config.batch_size):
            idx = order[i:i + config.batch_size]
            yield (x[idx],), y[idx]

    def accuracy(m, device):
        with torch.no_grad():
            return {"accuracy": float((m(x).argmax(1) == y).float().mean())}

    return Trainer(model, config, batches, len(x) // config.batch_size, F.cross_entropy,
                   evaluate or accuracy, monitor="accuracy"), model


def test_events_arrive_in_order_with_progress_and_eta():
    trainer, _ = _trainer(TrainConfig(epochs=3, batch_size=32, lr=0.05))
    seen = []
    trainer.add_callback("*", lambda ev: seen.append(ev))
    history = trainer.run()
    kinds = [e.kind for e in seen]
    assert kinds.count("batch_end") == 3 * 8 and kinds.count("epoch_end") == 3 and kinds[-1] == "train_end"
    batch_events = [e for e in seen if e.kind == "batch_end"]
    assert [e.step for e in batch_events] == list(range(1, 25))
    assert batch_events[-1].progress == 1.0
    assert batch_events[0].eta_s is None                  # one (warm-up) step says nothing about the rate yet
    assert batch_events[-1].eta_s > 0                     # the last validation pass is still to come
    assert [e for e in seen if e.kind == "epoch_end"][-1].eta_s == 0.0
    assert history.val[-1]["accuracy"] > 0.9        # it really learns


def test_stop_from_another_thread_is_honoured_within_one_batch():
    trainer, _ = _trainer(TrainConfig(epochs=50, batch_size=8, lr=0.01))
    stepped = threading.Event()
    steps = []

    def on_batch(ev):
        steps.append(ev.step)
        if ev.step == 3:
            stepped.set()
            threading.Thread(target=trainer.request_stop).start()
            threading.Event().wait(0.05)           # give the other thread time to set the flag

    trainer.add_callback("batch_end", on_batch)
    history = trainer.run()
    assert history.stopped
    assert max(steps) <= 4, f"kept training for {max(steps) - 3} batches after stop"
    assert len(history.epochs) == 1


def test_stop_during_first_batch_still_leaves_a_usable_model():
    trainer, model = _trainer(TrainConfig(epochs=5, batch_size=8))
    trainer.add_callback("batch_end", lambda ev: trainer.request_stop())
    history = trainer.run()
    assert history.stopped and history.epochs == [1]
    assert torch.isfinite(model(torch.randn(3, 4))).all()


def test_diverging_loss_is_a_clear_error():
    class Exploding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(4, 2))

        def forward(self, x):
            return (x @ self.w) * float("inf")

    trainer, _ = _trainer(TrainConfig(epochs=2, batch_size=32), model=Exploding())
    with pytest.raises(TrainingError, match="diverged") as info:
        trainer.run()
    assert "learning rate" in info.value.hint


def test_early_stopping_keeps_the_best_epoch():
    scores = iter([0.5, 0.9, 0.6, 0.7, 0.8, 0.95])
    trainer, _ = _trainer(TrainConfig(epochs=6, batch_size=64, patience=2),
                          evaluate=lambda m, d: {"accuracy": next(scores)})
    history = trainer.run()
    assert history.epochs == [1, 2, 3, 4] and history.best_epoch == 2


def test_same_seed_same_weights():
    weights = []
    for _ in range(2):
        torch.manual_seed(123)                  # model init is the caller's; the loop seeds shuffling
        trainer, model = _trainer(TrainConfig(epochs=2, batch_size=16, seed=7))
        trainer.run()
        weights.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_cuda_only_when_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto").type == "cpu"
    with pytest.raises(TrainingError, match="no GPU"):
        pick_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto").type == "cuda"
