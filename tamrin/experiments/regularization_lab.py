"""regularization-lab: the regularisation and normalisation theory questions, each answered by a
measurement — dropout as ridge (Monte Carlo), Gaussian dropout's gradient, batch norm (curves, noise,
single-class batches, conv bias, scale invariance), saturating sigmoids, residual connections and
initialisation. Trainings go through tamrin.train.fit (checkpointed per tag, resumable)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from tamrin.labs.threads import one_thread

from tamrin.errors import UserError
from tamrin.experiments import _reg_batchnorm as bnp
from tamrin.experiments import _reg_depth as depth
from tamrin.experiments import _reg_dropout as drop
from tamrin.labs.data import small_mnist, train_val
from tamrin.registry import Experiment
from tamrin.report import Section
from tamrin.train import TrainConfig


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""
    limit: int = 0  # images of the 3,009-image MNIST subset (0 = all)
    size: int = 14
    val_fraction: float = 0.2
    # dropout maths
    dropout_n: int = 20
    feature_scales: list = field(default_factory=lambda: [0.5, 1.0, 2.0, 4.0])
    keep_probs: list = field(default_factory=lambda: [0.2, 0.5, 0.8])
    mc_samples: int = 40000
    gauss_alpha: float = 0.5
    gauss_samples: int = 400000
    # batch norm (MLP)
    hidden: list = field(default_factory=lambda: [128, 128])
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=8, batch_size=64, optimizer="sgd", lr=0.05,
                                                                   momentum=0.9, weight_decay=0.0, schedule="none"))
    noise_batches: int = 20
    noise_batch_size: int = 32
    single_epochs: int = 3
    alphas: list = field(default_factory=lambda: [0.5, 10.0])
    # depth
    probe_batch: int = 128
    sigmoid_depth: int = 6
    sigmoid_width: int = 64
    positive_scale: float = 0.3
    cnn_depth: int = 20
    init_depth: int = 6
    cnn_channels: int = 16
    cnn_train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=10, batch_size=64, optimizer="sgd", lr=0.02,
                                                                       momentum=0.9, weight_decay=0.0, schedule="none", grad_clip=5.0))

    @classmethod
    def smoke(cls) -> "Config":  # a few steps, for tests (tests/test_resume_all.py)
        tiny = dict(batch_size=64, optimizer="sgd", momentum=0.9, weight_decay=0.0, schedule="none", progress=False)
        return cls(limit=300, mc_samples=2000, gauss_samples=20000, noise_batches=4,
                   train=TrainConfig(epochs=2, lr=0.05, max_steps_per_epoch=3, **tiny), single_epochs=1,
                   cnn_train=TrainConfig(epochs=2, lr=0.02, grad_clip=5.0, max_steps_per_epoch=2, **tiny))

    @classmethod
    def quick(cls) -> "Config":
        return cls(limit=1500, mc_samples=20000, gauss_samples=200000,
                   train=TrainConfig(epochs=3, batch_size=64, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=0.0, schedule="none"),
                   single_epochs=2,
                   cnn_train=TrainConfig(epochs=5, batch_size=64, optimizer="sgd", lr=0.02, momentum=0.9, weight_decay=0.0,
                                         schedule="none", grad_clip=5.0))

    def validate(self):
        if not all(0 < p <= 1 for p in self.keep_probs):
            raise UserError(f"keep_probs must be in (0, 1], got {self.keep_probs}")
        if self.noise_batch_size < 2:
            raise UserError(f"noise_batch_size must be at least 2 (BN needs a batch), got {self.noise_batch_size}")
        if self.gauss_alpha <= 0:
            raise UserError(f"gauss_alpha must be positive, got {self.gauss_alpha}")
        if self.cnn_depth < 2 or self.init_depth < 1:
            raise UserError("cnn_depth must be >= 2 and init_depth >= 1")
        if not 0 < self.val_fraction < 0.9:
            raise UserError(f"val_fraction must be in (0, 0.9), got {self.val_fraction}")


@one_thread()  # tiny models: threads cost more than they give (benchmarks/labs.md)
def run(cfg: Config, run) -> list[Section]:
    x, y, ds = small_mnist(cfg.data_dir, run, cfg.size, cfg.limit, cfg.seed)
    train, val = train_val(x, y, cfg.val_fraction, cfg.seed)
    intro = Section("Overview")
    intro.text(f"Data: {ds.source}; {len(train[1]):,} training and {len(val[1]):,} validation images pooled to "
               f"{cfg.size}×{cfg.size} and standardised. Each section answers one regularisation question with a measurement.")
    sections, summary, shared = [intro], {}, {}

    def bn_curves():
        sec, res = bnp.batchnorm_curves(cfg, run, train, val)
        shared["models"] = res.pop("models")
        shared["bn_acc"] = res["val_acc"]["bn"]
        return sec, res

    steps = (("dropout_linear", lambda: drop.dropout_linear(cfg, run)),
             ("gaussian_dropout", lambda: drop.gaussian_dropout(cfg, run)),
             ("batchnorm", bn_curves),
             ("single_class", lambda: bnp.single_class(cfg, run, train, val, shared.get("bn_acc"))),
             ("conv_bias", lambda: bnp.conv_bias(cfg, run)),
             ("scaling", lambda: bnp.scaling(cfg, run, shared["models"], train, val)),
             ("sigmoid", lambda: depth.sigmoid_saturation(cfg, run, *train)),
             ("residual", lambda: depth.plain_vs_residual(cfg, run, train, val)),
             ("init", lambda: depth.initialisation(cfg, run, train, val)))
    fits = {}  # every model trained with tamrin.train.fit, for the standard report at the end
    for key, fn in steps:
        run.info(f"regularization-lab: {key}")
        t0 = time.perf_counter()
        sec, res = fn()
        fits.update(res.pop("fits", {}))
        res = dict(res, seconds=time.perf_counter() - t0)
        sections.append(sec)
        summary[key] = res
        run.log(part=key, seconds=res["seconds"])
    run.write_json("regularization_lab.json", summary)
    return sections + standard_sections(cfg, run, fits, train, val)


def standard_sections(cfg, run, fits: dict, train, val) -> list[Section]:
    """Every model the lab trained, as small multiples: the MLPs (batch-norm study) and the CNNs (residual and
    initialisation studies), each group with its own settings. The lab uses the MNIST training file only."""
    from tamrin.report.training_report import fit_steps, train_config_settings, training_report
    from tamrin.train import predict

    out = []
    for group, tc, title in (("MLP", cfg.train, "the MLPs (batch-norm study)"),
                             ("CNN", cfg.cnn_train, "the CNNs (residual and initialisation studies)")):
        chosen = {k: r for k, r in fits.items() if k.startswith(group + " ")}
        if not chosen:
            continue
        members = {k: {"history": r.history, "best_epoch": r.best_epoch,
                       "splits": {"train": (train[1], predict(r.model, train[0]).argmax(1)),
                                  "validation": (val[1], predict(r.model, val[0]).argmax(1))}} for k, r in chosen.items()}
        n_ep = len(next(iter(chosen.values())).history)
        settings = train_config_settings(
            tc, loss="cross-entropy (mean over the batch)", steps=fit_steps(len(train[1]), tc, n_ep, history=next(iter(chosen.values())).history), epochs=n_ep,
            preprocessing=f"pixels scaled to [0, 1], average-pooled to {cfg.size}×{cfg.size}, standardised", augmentation="none",
            extra={"models": ", ".join(chosen), "test split": "none: every study is measured on the validation split"})
        settings["optimizer steps"] = f"{settings['optimizer steps']:,} per model"
        out += training_report(run, f"reg_{group.lower()}", members=members, classes=[str(c) for c in range(10)],
                               settings=settings, model=next(iter(chosen.values())).model, example_input=val[0][:2],
                               same_architecture=False, title=f"Standard report: {title}")
    return out


EXPERIMENT = Experiment(
    name="regularization-lab",
    description="Dropout as ridge, Gaussian dropout, batch norm effects, saturation, residuals, initialisation — measured",
    exercise="Regularisation and normalisation theory questions (dropout, batch norm, initialisation, residual connections)",
    config=Config, run=run, order=81, trains=True,
)
