"""optim-lab: the optimisation theory questions of the course, each answered by a measurement.

Learning rates (range test, divergence), saddle points, batch vs mini-batch vs SGD, steps vs batch
size, GD on a quadratic bowl vs Newton, Adam's bias correction, softmax vs logistic regression. All
micro-experiments are plain loops (NumPy or tiny torch models on MNIST pooled to 14×14): each takes
milliseconds to seconds, so nothing here needs checkpoints.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from tamrin.labs.threads import one_thread

from tamrin.errors import UserError
from tamrin.experiments import _optim_sections as parts
from tamrin.experiments import _optim_theory as theory
from tamrin.labs.data import small_mnist
from tamrin.labs.minibatch import with_bias
from tamrin.registry import Experiment
from tamrin.report import Section


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""
    limit: int = 0  # images of the 3,009-image MNIST subset to use (0 = all)
    size: int = 14  # images pooled to size×size
    # learning rates
    hidden: int = 64
    batch: int = 64
    lr_min: float = 1e-4
    lr_max: float = 20.0
    range_steps: int = 300
    lr_steps: int = 400
    low_factor: float = 30.0
    stop_factor: float = 4.0  # range test stops when the smoothed loss exceeds this × its minimum
    blowup: float = 3.0  # a training curve has diverged once its loss exceeds this × its first loss
    # saddles
    saddle_lr: float = 0.05
    saddle_steps: int = 1000
    saddle_noise: float = 0.05
    escape_radius: float = 1.5
    # batch modes and batch-size scaling (softmax regression)
    batch_mode_lr: float = 0.05
    minibatch: int = 32
    batch_epochs: int = 3
    batch_sizes: list = field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
    scaling_lrs: list = field(default_factory=lambda: [0.01, 0.03, 0.1, 0.3, 1.0])
    scaling_n: int = 2000
    target_loss: float = 0.5
    scaling_max_steps: int = 4000
    check_every: int = 5
    # quadratic bowl and Newton
    eigenvalues: list = field(default_factory=lambda: [0.5, 1.0, 2.0, 5.0])
    lr_multiples: list = field(default_factory=lambda: [0.1, 0.5, 0.9, 0.99, 1.01, 1.1])
    eig_lr_multiple: float = 0.8
    quad_steps: int = 500
    solve_probe: int = 600
    # Adam
    beta1: float = 0.9
    adam_steps: int = 60
    adam_runs: int = 2000
    grad_mean: float = 1.0
    grad_std: float = 1.0
    # softmax vs logistic
    pair: tuple = (3, 8)
    softmax_lr: float = 0.1
    softmax_steps: int = 300

    @classmethod
    def quick(cls) -> "Config":
        return cls(range_steps=200, lr_steps=200, saddle_steps=600, batch_epochs=2, batch_sizes=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000],
                   scaling_lrs=[0.03, 0.1, 0.3, 1.0], scaling_n=1000, scaling_max_steps=2000, check_every=10,
                   quad_steps=300, adam_runs=500, softmax_steps=200)

    def validate(self):
        if not 0 < self.lr_min < self.lr_max:
            raise UserError(f"need 0 < lr_min < lr_max, got {self.lr_min}, {self.lr_max}")
        if self.stop_factor <= 1 or self.blowup <= 1:
            raise UserError(f"stop_factor and blowup must be > 1, got {self.stop_factor}, {self.blowup}")
        if any(v <= 0 for v in self.eigenvalues):
            raise UserError(f"eigenvalues must be positive (a convex bowl), got {self.eigenvalues}")
        if not 0 < self.beta1 < 1:
            raise UserError(f"beta1 must be in (0, 1), got {self.beta1}")
        if len(self.pair) != 2 or self.pair[0] == self.pair[1] or not all(0 <= int(c) <= 9 for c in self.pair):
            raise UserError(f"pair must be two different digits 0-9, got {self.pair}")
        if any(int(b) < 1 for b in self.batch_sizes) or len(self.batch_sizes) < 2:
            raise UserError(f"batch_sizes must be at least two positive integers, got {self.batch_sizes}")


@one_thread()  # tiny models: threads cost more than they give (benchmarks/labs.md)
def run(cfg: Config, run) -> list[Section]:
    x, y, ds = small_mnist(cfg.data_dir, run, cfg.size, cfg.limit, cfg.seed)
    xf = with_bias(x.flatten(1).double().numpy())
    yn = y.numpy()
    intro = Section("Overview")
    intro.text(f"Data: {ds.source}, {len(yn):,} images pooled to {cfg.size}×{cfg.size} and standardised. Each section below "
               "answers one question of the optimisation lecture with a measurement made in this run.")
    sections, summary = [intro], {}
    for key, fn in (("learning_rate", lambda: parts.learning_rates(cfg, run, x, y)),
                    ("saddles", lambda: parts.saddle_points(cfg, run)),
                    ("batch_modes", lambda: parts.batch_modes(cfg, run, xf, yn)),
                    ("batch_scaling", lambda: parts.batch_size_scaling(cfg, run, xf, yn)),
                    ("quadratic", lambda: theory.quadratic_bowl(cfg, run, {f"optim-lab MLP ({x.shape[-1] ** 2}-{cfg.hidden}-10)":
                                                                        sum(p.numel() for p in parts.mlp(x.shape[-1] ** 2, cfg.hidden, 0).parameters())})),
                    ("adam", lambda: theory.adam_bias_section(cfg, run)),
                    ("softmax_logistic", lambda: theory.softmax_vs_logistic(cfg, run, xf, yn))):
        run.info(f"optim-lab: {key}")
        t0 = time.perf_counter()
        sec, res = fn()
        res = dict(res, seconds=time.perf_counter() - t0)
        sections.append(sec)
        summary[key] = res
        run.log(part=key, **{k: v for k, v in res.items() if isinstance(v, (int, float))})
    run.write_json("optim_lab.json", summary)
    return sections


EXPERIMENT = Experiment(
    name="optim-lab",
    description="Learning rates, saddles, batch sizes, quadratic bowls vs Newton, Adam's bias, softmax = logistic — measured",
    exercise="Optimisation theory questions (learning rate, saddle points, SGD variants, Newton, Adam)",
    config=Config, run=run, order=80, trains=False,
)
