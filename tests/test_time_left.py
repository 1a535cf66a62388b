"""The time left a training shows: steps, validation passes and the final scoring, on a fake clock.

Each test drives a real `Trainer` whose work advances a fake clock by fixed amounts (a slow
first step, steady steps, slower validation passes), so the true time left after every event
is known exactly and the estimate can be held to it. No real time is measured.
"""
import pytest
import torch
import torch.nn.functional as F

from bigmodel_core.train.trainer import TimeLeft, TrainConfig, Trainer
from ui import studio as S


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def run(epochs=4, steps=10, step_s=0.1, first_step_s=2.0, val_s=0.5, finish_evals=2.0, guess_steps=5.0):
    """Train a toy model on the fake clock; returns [(event, true seconds left at that event)]."""
    clock = FakeClock()
    x, y = torch.randn(steps * 8, 3), torch.randint(0, 2, (steps * 8,))
    taken = [0]

    def batches(epoch, gen):
        for i in range(steps):
            clock.advance(first_step_s if taken[0] == 0 else step_s)
            taken[0] += 1
            yield (x[i * 8:(i + 1) * 8],), y[i * 8:(i + 1) * 8]

    def evaluate(model, device):
        clock.advance(val_s)
        return {"accuracy": 0.5}

    trainer = Trainer(torch.nn.Linear(3, 2), TrainConfig(epochs=epochs, batch_size=8), batches, steps,
                      F.cross_entropy, evaluate, finish_evals=finish_evals, eval_guess_steps=guess_steps, clock=clock)
    seen = []
    trainer.add_callback("*", lambda ev: seen.append((ev, clock())))
    trainer.run()
    done = clock() + finish_evals * val_s               # the caller then scores val + test: finish_evals passes
    return [(ev, done - at) for ev, at in seen]


def test_the_estimate_is_the_true_time_left_once_a_validation_pass_was_timed():
    events = run()
    after_first_epoch = [(ev, true) for ev, true in events if ev.step > 10 and ev.kind != "train_end"]
    assert after_first_epoch
    for ev, true in after_first_epoch:
        assert ev.eta_s == pytest.approx(true, rel=1e-6, abs=1e-6), (ev.kind, ev.step)


def test_validation_and_final_scoring_are_counted_not_just_the_steps():
    events = run(step_s=0.1, val_s=2.0)                 # validation costs twice a whole epoch of steps
    ev, true = next((ev, true) for ev, true in events if ev.kind == "batch_end" and ev.step == 20)
    steps_only = ev.elapsed_s / ev.step * (ev.total_steps - ev.step)   # the old estimate
    assert steps_only < 0.6 * true                      # ran low: it left out validation and scoring
    assert ev.eta_s == pytest.approx(true, rel=1e-6)    # 20 steps × 0.1 s + 3 passes × 2 s + 2 × 2 s = 12 s
    assert true == pytest.approx(12.0)


def test_the_first_epoch_uses_a_guess_for_validation_and_converges_after_it():
    events = run(val_s=1.0, guess_steps=2.0)            # guessed 0.2 s per validation pass, really 1 s
    first = [ev for ev, true in events if ev.kind == "batch_end" and 2 <= ev.step <= 10]
    for ev in first:                                    # steps left × 0.1 s + (4 passes + 2 final) × the guess
        assert ev.eta_s == pytest.approx((40 - ev.step) * 0.1 + 6 * 2 * 0.1)
    later = [(ev, true) for ev, true in events if ev.step > 10 and ev.kind != "train_end"]
    assert all(ev.eta_s == pytest.approx(true, rel=1e-6, abs=1e-6) for ev, true in later)


def test_a_slow_first_step_does_not_inflate_the_estimate():
    events = run(first_step_s=30.0)                     # a long warm-up step (lazy initialisation)
    batch = [(ev, true) for ev, true in events if ev.kind == "batch_end"]
    assert batch[0][0].eta_s is None                    # no rate from the warm-up alone: "…"
    ev, true = batch[1]
    assert ev.eta_s < 2 * true                          # the old estimate would say ~15× too much
    assert ev.elapsed_s / ev.step * (ev.total_steps - ev.step) > 10 * true


def test_after_the_last_epoch_the_final_scoring_is_left():
    events = run()
    end = [(ev, true) for ev, true in events if ev.kind in ("epoch_end", "train_end") and ev.epoch == 4]
    for ev, true in end:
        assert ev.eta_s == pytest.approx(true) == pytest.approx(2 * 0.5)


def test_time_left_model_on_its_own():
    left = TimeLeft(total_steps=20, epochs=2, finish_evals=1.0, eval_guess_steps=3.0)
    assert left.left(0, 1) is None
    left.step(9.0)                                      # warm-up: ignored
    assert left.left(1, 1) is None
    for _ in range(9):
        left.step(1.0)
    # 10 steps left × 1 s + (this epoch's and the next epoch's validation + 1 final pass) × 3 s (guessed)
    assert left.left(10, 1) == pytest.approx(10 + 3 * 3.0)
    left.validation(4.0)
    assert left.left(10, 1, validated=True) == pytest.approx(10 + 2 * 4.0)
    assert left.finishing() == pytest.approx(4.0)
    assert TimeLeft(10, 1, validates=False).left(5, 1) is None


def test_the_page_counts_down_between_events():
    event = dict(kind="batch_end", eta=30.0, time=1000.0)
    assert S.time_left(event, now=1000.0) == 30.0
    assert S.time_left(event, now=1012.5) == pytest.approx(17.5)
    assert S.time_left(event, now=1100.0) == 0.0        # never negative
    assert S.time_left(dict(kind="batch_end", eta=None, time=1000.0), now=1001.0) is None
    assert S.time_left(None) is None
