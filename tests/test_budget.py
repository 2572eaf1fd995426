"""train.budget_s plans the schedule over a wall-clock budget; lookahead, alternating flips and TTA."""
import math
import time

import pytest
import torch
from torch import nn

from tamrin.data.augment import AlternatingCropFlip
from tamrin.train import TrainConfig, fit
from tamrin.train.budget import StepPlan
from tamrin.train.fit import lr_factor, param_groups
from tamrin.train.lookahead import Lookahead
from tamrin.train.tta import tta_logits


def test_replan_fits_steps_and_validation_passes_into_the_budget():
    plan = StepPlan.budgeted(100.0, max_epochs=1000, steps_per_epoch=10, warmup=5)
    plan.replan(steps_done=10, step_s=0.5, eval_s=2.0, elapsed_s=7.0)  # 93 s left
    n = plan.total - 10
    passes = math.ceil(plan.total / 10) - 1
    assert n * 0.5 + passes * 2.0 <= 93.0 + 1e-9
    unused = 93.0 - (n * 0.5 + passes * 2.0)
    assert unused < 0.5 * (10 / 4 + 1) + 2.0  # not far below it either (at most a quarter-epoch sliver + a pass)
    plan.replan(steps_done=plan.total, step_s=0.5, eval_s=2.0, elapsed_s=100.0)  # spent: stop where it is
    assert plan.total == plan.total and plan.epochs == math.ceil(plan.total / 10)


def test_replan_respects_the_epoch_cap_and_caps_warmup():
    plan = StepPlan.budgeted(1e6, max_epochs=3, steps_per_epoch=10, warmup=50)
    plan.replan(5, 0.001, 0.0, 0.0)
    assert plan.total == 30 and plan.warmup == 7  # a quarter of the run at most
    fixed = StepPlan.fixed(epochs=1, steps_per_epoch=8, warmup=8)  # warmup_epochs=1 with epochs=1
    assert fixed.warmup == 2 and fixed.total == 8


def test_replan_avoids_a_sliver_epoch():
    plan = StepPlan.budgeted(100.0, max_epochs=1000, steps_per_epoch=100, warmup=0)
    plan.replan(100, step_s=0.1, eval_s=0.0, elapsed_s=10 + 0.1 * 0)  # room for 900 steps -> 1000 total
    assert plan.total % 100 == 0


def _data(n=600, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x, y


class Slow(nn.Module):
    """A linear model whose steps take a known time, so the plan can be checked against the clock."""

    def __init__(self, delay):
        super().__init__()
        self.lin, self.delay = nn.Linear(8, 2), delay

    def forward(self, x):
        if self.training:
            time.sleep(self.delay)
        return self.lin(x)


def test_budgeted_fit_ends_its_schedule_inside_the_budget():
    x, y = _data()
    torch.manual_seed(0)
    cfg = TrainConfig(epochs=1000, batch_size=20, lr=0.1, schedule="cosine", budget_s=1.5, progress=False,
                      channels_last=False)
    torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)  # torch's one-time optimizer import (~1.5 s) is not fit's time
    t0 = time.perf_counter()
    res = fit(Slow(0.01), (x[:400], y[:400]), (x[400:], y[400:]), cfg)
    wall = time.perf_counter() - t0
    assert wall < 1.5 * 1.3 + 0.5, wall
    assert 60 <= res.steps <= 150  # ~1.5 s / 10 ms per step, less the validation passes
    assert res.history[-1]["steps"] == res.steps  # ran to the planned end ...
    assert res.history[-1]["lr"] == pytest.approx(0.1 * lr_factor(res.steps, res.steps, 0, "cosine"), abs=1e-9)  # ... at the schedule's end
    assert res.history[-1]["elapsed_s"] == pytest.approx(res.seconds)
    assert res.best_val_acc > 0.8


def test_triangle_schedule_shape():
    f = [lr_factor(s, 100, 0, "triangle") for s in range(100)]
    assert f[0] == pytest.approx(0.2) and max(f) == pytest.approx(1.0, abs=0.04)
    assert f.index(max(f)) in (22, 23) and f[-1] == pytest.approx(0.07, abs=0.02)


def test_bias_lr_scale_groups_keep_the_per_step_shrink():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    groups = param_groups(model, TrainConfig(lr=0.5, weight_decay=0.01, bias_lr_scale=64))
    w, b = groups
    assert all(p.dim() > 1 for p in w["params"]) and all(p.dim() == 1 for p in b["params"]) and len(b["params"]) == 3
    assert b["lr"] == 32 and b["lr"] * b["weight_decay"] == pytest.approx(w["lr"] * w["weight_decay"])


def test_lookahead_pulls_back_and_finishes_on_the_slow_weights():
    model = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    look = Lookahead(model, every=1, decay=0.5)
    with torch.no_grad():
        model.weight.fill_(1.0)
    look.step(1, progress=1.0)  # slow = 0 + (1 - 0.5)(1 - 0) = 0.5, fast reset to it
    assert torch.allclose(model.weight, torch.full((1, 2), 0.5))
    look.step(2, progress=0.0)  # a = 0 at the start of a run: slow follows fast
    with torch.no_grad():
        model.weight.fill_(3.0)
    look.finish()
    assert torch.allclose(model.weight, torch.full((1, 2), 0.5))


def test_alternating_flip_shows_each_image_both_ways_over_two_epochs():
    x = torch.arange(6 * 4, dtype=torch.float).view(6, 1, 1, 4).repeat(1, 1, 4, 1)
    aug = AlternatingCropFlip(6, seed=1, padding=0)
    idx = torch.arange(6)
    g = torch.Generator().manual_seed(0)
    e1, e2, e3 = (aug(x, g, idx, e) for e in (1, 2, 3))
    flipped1 = (e1 != x).flatten(1).any(1)
    flipped2 = (e2 != x).flatten(1).any(1)
    assert torch.equal(flipped1, ~flipped2) and torch.equal(e1, e3)
    assert 0 < int(flipped1.sum()) < 6


def test_tta_levels():
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    x = torch.randn(3, 1, 6, 6)
    assert torch.allclose(tta_logits(conv, x, 0), conv(x))
    assert torch.allclose(tta_logits(conv, x, 1), 0.5 * (conv(x) + conv(x.flip(-1))))
    sym = torch.cat([x, x.flip(-1)], -1)  # mirror-symmetric images: level 1 = level 0 for any model
    assert torch.allclose(tta_logits(conv, sym, 1), 0.5 * (conv(sym) + conv(sym.flip(-1))))
    assert tta_logits(conv, x, 2).shape == (3, 2)
    with pytest.raises(ValueError):
        tta_logits(conv, x, 3)


class SlowsDown(Slow):
    """Steps take 4x longer after the first 30 (a shared machine getting busy mid-epoch)."""

    def __init__(self):
        super().__init__(0.005)
        self.calls = 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls == 30:
                self.delay = 0.02
        return super().forward(x)


def test_budget_is_replanned_within_an_epoch_when_the_machine_slows_down():
    x, y = _data(2000)
    torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    cfg = TrainConfig(epochs=1000, batch_size=10, lr=0.1, budget_s=1.5, progress=False, channels_last=False)
    t0 = time.perf_counter()
    res = fit(SlowsDown(), (x[:1900], y[:1900]), (x[1900:], y[1900:]), cfg)  # 190 steps per epoch: all in epoch 1
    assert time.perf_counter() - t0 < 1.5 * 1.25 + 0.3
    assert len(res.history) == 1 and res.history[-1]["steps"] == res.steps < 190


def test_recipes_are_valid_train_configs():
    from tamrin.train import recipes
    from tamrin.train.precision import cpu_has_bf16

    a = recipes.airbench(300, batch_size=512)
    a.validate()
    assert a.budget_s == 300 and a.epochs >= 200 and a.lr == pytest.approx(0.75)  # 1.5 per 1,024 images, scaled
    assert a.lr * a.weight_decay == pytest.approx(0.001)  # airbench's shrink per step, scaled with the batch too
    assert a.amp == cpu_has_bf16() and a.bias_lr_scale == 64 and a.lookahead and a.schedule == "triangle"
    b = recipes.budgeted(0, epochs=7)
    b.validate()
    assert b.epochs == 7 and b.budget_s == 0 and b.schedule == "onecycle"
