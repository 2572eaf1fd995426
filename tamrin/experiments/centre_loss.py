"""centre-loss: softmax vs softmax + λ·centre loss (Wen et al. 2016) vs PEDCC loss (Zhu et al. 2019) on
MNIST, with a 2-D feature layer (to look at) and a higher-dimensional one: feature scatter plots,
intra/inter-class distance ratio and accuracy. Every model trains through tamrin.train.fit (one tag each)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from tamrin.labs.threads import one_thread  # noqa: E402

from tamrin.errors import UserError  # noqa: E402
from tamrin.labs.centre import class_distance_ratio  # noqa: E402
from tamrin.labs.data import small_mnist, train_val  # noqa: E402
from tamrin.labs.feature_nets import HEADS, FeatureNet, make_loss  # noqa: E402
from tamrin.registry import Experiment  # noqa: E402
from tamrin.report import Section  # noqa: E402
from tamrin.report.training_report import fit_steps, train_config_settings, training_report  # noqa: E402
from tamrin.train import TrainConfig, fit, predict  # noqa: E402

LABELS = {"softmax": "softmax", "centre": "softmax + λ·centre", "pedcc": "PEDCC"}


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""
    limit: int = 0  # training images of the 3,009-image subset (0 = all)
    test_limit: int = 5000  # MNIST test images used (0 = all 10,000)
    size: int = 14
    val_fraction: float = 0.1
    dims: list = field(default_factory=lambda: [2, 32])
    centre_lambda: float = 0.1  # λ, weight of the centre loss (Wen et al. use 0.003-0.1)
    centre_alpha: float = 0.5  # α, the centres' own update rate
    pedcc_lambda: float = 1.0  # weight of the MSE between normalised features and their centroid
    pedcc_scale: float = 10.0  # logit scale s (cosines lie in [-1, 1])
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=15, batch_size=64, optimizer="adam", lr=2e-3,
                                                                   weight_decay=0.0, schedule="cosine"))

    @classmethod
    def quick(cls) -> "Config":
        return cls(test_limit=2000, train=TrainConfig(epochs=8, batch_size=64, optimizer="adam", lr=3e-3, weight_decay=0.0, schedule="cosine"))

    @classmethod
    def smoke(cls) -> "Config":  # a few steps, for tests (tests/test_resume_all.py)
        return cls(limit=300, test_limit=300, dims=[2], train=TrainConfig(
            epochs=2, batch_size=64, optimizer="adam", lr=3e-3, weight_decay=0.0, schedule="cosine", max_steps_per_epoch=3, progress=False))

    def validate(self):
        if not self.dims or any(int(d) < 2 for d in self.dims):
            raise UserError(f"dims must be feature sizes >= 2, got {self.dims}")
        if self.centre_lambda < 0 or self.pedcc_lambda < 0:
            raise UserError("centre_lambda and pedcc_lambda must be >= 0")
        if not 0 < self.centre_alpha <= 1:
            raise UserError(f"centre_alpha must be in (0, 1], got {self.centre_alpha}")


@torch.no_grad()
def _features(model, x, batch: int = 1000):
    model.eval()
    feats, logits = [], []
    for s in range(0, len(x), batch):
        logits.append(model(x[s:s + batch]))
        feats.append(model.last_features)
    return torch.cat(feats).numpy(), torch.cat(logits)


def _scatter(results, dim, y, run):
    fig, axes = plt.subplots(1, len(HEADS), figsize=(4.2 * len(HEADS), 4.2))
    for ax, head in zip(axes, HEADS):
        f = results[(head, dim)]["features"]
        for c in range(10):
            k = y == c
            ax.scatter(f[k, 0], f[k, 1], s=2, alpha=0.5, label=str(c))
        if head == "centre":
            cen = results[(head, dim)]["centres"]
            ax.scatter(cen[:, 0], cen[:, 1], c="k", marker="x", s=40)
        if head == "pedcc":
            cen = results[(head, dim)]["centroids"]
            ax.scatter(cen[:, 0], cen[:, 1], c="k", marker="*", s=60)
        r = results[(head, dim)]
        ax.set_title(f"{LABELS[head]}\nacc {r['acc']:.2%}, intra/inter {r['ratio']['ratio']:.3f}", fontsize=9)
        ax.set_aspect("equal", "datalim")
    axes[0].legend(markerscale=4, fontsize=7, ncol=2)
    fig.tight_layout()
    return run.save_figure(fig, f"centre_scatter_{dim}d")


@one_thread()  # tiny models: threads cost more than they give (benchmarks/labs.md)
def run(cfg: Config, run) -> list[Section]:
    x, y, ds = small_mnist(cfg.data_dir, run, cfg.size, cfg.limit, cfg.seed)
    xt, yt, dst = small_mnist(cfg.data_dir, run, cfg.size, cfg.test_limit, cfg.seed, split="test")
    train, val = train_val(x, y, cfg.val_fraction, cfg.seed)
    results, members, first_model = {}, {}, None
    for dim in cfg.dims:
        for head in HEADS:
            torch.manual_seed(cfg.seed)
            model = FeatureNet(int(dim), head, size=cfg.size, pedcc_scale=cfg.pedcc_scale, seed=cfg.seed)
            lam = cfg.centre_lambda if head == "centre" else cfg.pedcc_lambda
            t0 = time.perf_counter()
            res = fit(model, train, val, cfg.train, run, tag=f"{head}_{dim}d", loss_fn=make_loss(model, lam, cfg.centre_alpha), seed=cfg.seed)
            feats, logits = _features(res.model, xt)
            r = {"features": feats, "acc": float((logits.argmax(1) == yt).float().mean()),
                 "ratio": class_distance_ratio(feats, yt.numpy()), "seconds": time.perf_counter() - t0}
            if head == "centre":
                r["centres"] = model.centres.numpy().copy()
                # how far the learned centres sit from the test features' class means
                means = np.stack([feats[yt.numpy() == c].mean(0) for c in range(10)])
                r["centre_offset"] = float(np.linalg.norm(r["centres"] - means, axis=1).mean())
            if head == "pedcc":
                r["centroids"] = model.centroids.numpy().copy()
            results[(head, dim)] = r
            first_model = first_model or res.model
            members[f"{LABELS[head]}, d = {dim}"] = {
                "history": res.history, "best_epoch": res.best_epoch,
                "splits": {"train": (train[1], predict(res.model, train[0]).argmax(1)),
                           "validation": (val[1], predict(res.model, val[0]).argmax(1)), "test": (yt, logits.argmax(1))}}
            run.log(tag=f"{head}_{dim}d", test_acc=r["acc"], intra=r["ratio"]["intra"], inter=r["ratio"]["inter"], ratio=r["ratio"]["ratio"])

    intro = Section("Set-up")
    intro.text(f"Data: {ds.source}; {len(train[1]):,} training, {len(val[1]):,} validation (model selection) and {len(yt):,} test "
               f"images ({dst.source}), pooled to {cfg.size}×{cfg.size}. One small CNN (two conv layers, then 64 → d features) per "
               f"loss and feature size d ∈ {{{', '.join(str(d) for d in cfg.dims)}}}, trained {cfg.train.epochs} epochs with "
               f"{cfg.train.optimizer} (lr {cfg.train.lr:g}).")
    intro.text(f"**Centre loss**: L = L_softmax + λ·½‖x_i − c_(y_i)‖², λ = {cfg.centre_lambda:g}. The centres are not trained by the "
               f"optimiser but moved after every batch by Δc_j = Σ_i δ(y_i = j)(c_j − x_i) / (1 + Σ_i δ(y_i = j)), "
               f"c_j ← c_j − α·Δc_j with α = {cfg.centre_alpha:g} (Wen et al. 2016, Algorithm 1). **PEDCC**: the classifier "
               f"weights are fixed unit centroids spread evenly (regular simplex when k ≤ d + 1, regular polygon in 2-D); "
               f"features are L2-normalised, logits = {cfg.pedcc_scale:g}·cos(feature, centroid), plus "
               f"{cfg.pedcc_lambda:g}·‖x̂ − c_y‖² pulling each feature onto its class centroid.")
    intro.text("Intra/inter ratio (test set): mean distance of a feature to its class mean divided by the mean distance between "
               "class means — scale-free, smaller = tighter, better separated classes. For PEDCC it is measured on the normalised "
               "features the classifier uses.")
    rows = [[LABELS[h], d, results[(h, d)]["acc"], results[(h, d)]["ratio"]["intra"], results[(h, d)]["ratio"]["inter"],
             results[(h, d)]["ratio"]["ratio"]] for d in cfg.dims for h in HEADS]
    res_sec = Section("Results")
    res_sec.table(["loss", "feature dim", "test accuracy", "intra", "inter", "intra/inter"], rows)
    for d in cfg.dims:
        r = {h: results[(h, d)] for h in HEADS}
        tight = min(HEADS, key=lambda h: r[h]["ratio"]["ratio"])
        best = max(HEADS, key=lambda h: r[h]["acc"])
        base = r["softmax"]["ratio"]["ratio"]
        parts = [f"{LABELS[h]} {r[h]['ratio']['ratio']:.3f} ({base / r[h]['ratio']['ratio']:.1f}× {'tighter' if r[h]['ratio']['ratio'] < base else 'looser'} than softmax)"
                 for h in HEADS if h != "softmax"]
        res_sec.text(f"d = {d}: the intra/inter ratio is {base:.3f} for softmax alone, " + ", ".join(parts) +
                     f"; the most compact features come from {LABELS[tight]}. Test accuracy is highest with {LABELS[best]} "
                     f"({r[best]['acc']:.2%}; softmax {r['softmax']['acc']:.2%}, centre {r['centre']['acc']:.2%}, PEDCC {r['pedcc']['acc']:.2%}).")
        if d == 2:
            p = _scatter(results, d, yt.numpy(), run)
            res_sec.figure(p, "2-D test features. Softmax alone separates classes by angle (radial 'petals'); the centre loss pulls "
                              "each class onto its centre (x); PEDCC puts each class at a fixed, evenly spaced point of the circle (*).",
                           base=run.path)
    rc = results[("centre", cfg.dims[0])]
    res_sec.text(f"The centres tracked the features: with α = {cfg.centre_alpha:g}, the learned centres lie on average "
                 f"{rc['centre_offset']:.3g} from the test class means (d = {cfg.dims[0]}, where the mean inter-class distance is "
                 f"{rc['ratio']['inter']:.3g}). Why the losses differ: softmax only needs the classes to be separable by the linear "
                 "classifier, so features spread out along rays; the centre loss adds a pull toward a class centre (discriminative "
                 "*and* compact), while PEDCC fixes the targets in advance at maximal separation, so inter-class distance is "
                 "guaranteed and only intra-class spread has to shrink.")
    run.write_json("centre_loss.json", {f"{h}_{d}d": {k: v for k, v in results[(h, d)].items() if k in ("acc", "ratio", "seconds")}
                                        for d in cfg.dims for h in HEADS})
    n_hist = len(next(iter(members.values()))["history"])
    settings = train_config_settings(
        cfg.train, loss=f"cross-entropy; centre: + {cfg.centre_lambda:g}·½‖x − c_y‖² (centres moved with α = {cfg.centre_alpha:g}); "
                        f"PEDCC: logits {cfg.pedcc_scale:g}·cos to fixed centroids + {cfg.pedcc_lambda:g}·‖x̂ − c_y‖²",
        steps=fit_steps(len(train[1]), cfg.train, n_hist, history=next(iter(members.values()))["history"]), epochs=n_hist,
        preprocessing=f"pixels scaled to [0, 1], average-pooled to {cfg.size}×{cfg.size}, each split standardised with its own "
                      "mean and std", augmentation="none",
        extra={"models": f"{len(members)}: every loss ({', '.join(LABELS[h] for h in HEADS)}) × feature size d ∈ "
                         f"{{{', '.join(str(d) for d in cfg.dims)}}}",
               "per-epoch curves": "train loss: the model's full loss (with its feature term); validation loss: cross-entropy only"})
    settings["optimizer steps"] = f"{settings['optimizer steps']:,} per model"
    std = training_report(run, "centre_models", members=members, classes=[str(c) for c in range(10)], settings=settings,
                          model=first_model, example_input=val[0][:2], same_architecture=False,
                          title="Standard report: every model")
    return [intro, res_sec, *std]


EXPERIMENT = Experiment(
    name="centre-loss",
    description="Softmax vs centre loss vs PEDCC: feature scatter, intra/inter-class distance, accuracy on MNIST",
    exercise="Discriminative feature learning: centre loss (Wen et al. 2016) and PEDCC",
    config=Config, run=run, order=82, trains=True,
)
