"""committee: identical small CNNs on MNIST, each trained on differently width-normalised digits
(Cireșan, Meier, Gambardella & Schmidhuber, ICDAR 2011), vs the same committee trained on the raw
digits with different seeds. Member errors, committee error (averaged softmax outputs) and the
pairwise correlation of the members' errors: less correlated mistakes = a committee that gains more."""
from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from tamrin.labs.threads import one_thread  # noqa: E402

from tamrin.data import load_mnist, stratified_split  # noqa: E402
from tamrin.errors import UserError  # noqa: E402
from tamrin.labs.stats import error_correlation, mean_offdiag  # noqa: E402
from tamrin.labs.width_norm import box_width, normalise_batch  # noqa: E402
from tamrin.registry import Experiment  # noqa: E402
from tamrin.report import Section  # noqa: E402
from tamrin.report import figures as figs  # noqa: E402
from tamrin.report.training_report import fit_steps, train_config_settings, training_report  # noqa: E402
from tamrin.train import TrainConfig, fit, predict  # noqa: E402


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""
    test_limit: int = 5000  # MNIST test images used (0 = all 10,000)
    train_limit: int = 0  # training images of the 3,009-image subset (0 = all)
    val_fraction: float = 0.1
    widths: list = field(default_factory=lambda: [10, 12, 14, 16, 18, 20])  # Cireșan et al.'s widths
    size: int = 14  # network input size after width normalisation at 28×28
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=10, batch_size=64, optimizer="adam", lr=2e-3,
                                                                   weight_decay=1e-4, schedule="cosine"))

    @classmethod
    def quick(cls) -> "Config":
        return cls(test_limit=2000, widths=[10, 14, 18, 22],
                   train=TrainConfig(epochs=4, batch_size=64, optimizer="adam", lr=3e-3, weight_decay=1e-4, schedule="cosine"))

    @classmethod
    def smoke(cls) -> "Config":  # a few steps, for tests (tests/test_resume_all.py)
        return cls(test_limit=300, train_limit=300, widths=[10, 14], train=TrainConfig(
            epochs=2, batch_size=64, optimizer="adam", lr=3e-3, weight_decay=1e-4, schedule="cosine", max_steps_per_epoch=3, progress=False))

    def validate(self):
        if len(self.widths) < 2:
            raise UserError(f"a committee needs at least 2 widths, got {self.widths}")
        if any(not 2 <= int(w) <= 28 for w in self.widths):
            raise UserError(f"widths must be between 2 and 28 pixels, got {self.widths}")


def small_cnn(size: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * (size // 4) ** 2, 64), nn.ReLU(), nn.Linear(64, 10))


def _prepare(images, size, mean=None, std=None):
    """uint8 (N, 28, 28, 1) → float (N, 1, size, size), standardised with the given (training) statistics."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    if x.shape[-1] != size:
        x = F.adaptive_avg_pool2d(x, size)
    if mean is None:
        mean, std = float(x.mean()), float(x.std())
    return (x - mean) / std, mean, std


def _train_member(cfg, run, tag, imgs_tr, y, tr, va, imgs_te, y_te, seed) -> dict:
    """One member: its test probabilities (for the committee) and what the standard report shows of it."""
    x_all, mean, std = _prepare(imgs_tr, cfg.size)
    x_te, _, _ = _prepare(imgs_te, cfg.size, mean, std)
    torch.manual_seed(seed)
    res = fit(small_cnn(cfg.size), (x_all[tr], y[tr]), (x_all[va], y[va]), cfg.train, run, tag=tag, seed=seed)
    probs = torch.softmax(predict(res.model, x_te), 1).numpy()
    pred = lambda x: predict(res.model, x).argmax(1).numpy()  # noqa: E731
    return {"probs": probs, "history": res.history, "best_epoch": res.best_epoch,
            "splits": {"train": (y[tr].numpy(), pred(x_all[tr])), "validation": (y[va].numpy(), pred(x_all[va])),
                       "test": (y_te, probs)}}


def _committee_stats(probs: list[np.ndarray], y: np.ndarray) -> dict:
    errors = np.stack([p.argmax(1) != y for p in probs])
    avg = np.mean(probs, 0)
    corr = error_correlation(errors)
    return {"member_err": errors.mean(1), "committee_err": float((avg.argmax(1) != y).mean()), "corr": corr,
            "mean_corr": mean_offdiag(corr), "all_wrong": float(errors.all(0).mean()), "any_wrong": float(errors.any(0).mean())}


@one_thread()  # tiny models: threads cost more than they give (benchmarks/labs.md)
def run(cfg: Config, run) -> list[Section]:
    train_ds = load_mnist(cfg.data_dir, "train", run=run)
    test_ds = load_mnist(cfg.data_dir, "test", run=run)
    if cfg.train_limit and cfg.train_limit < len(train_ds.labels):
        keep, _ = stratified_split(train_ds.labels, 1 - cfg.train_limit / len(train_ds.labels), cfg.seed)
        train_ds = train_ds.subset(np.sort(keep))
    if cfg.test_limit and cfg.test_limit < len(test_ds.labels):
        keep, _ = stratified_split(test_ds.labels, 1 - cfg.test_limit / len(test_ds.labels), cfg.seed)
        test_ds = test_ds.subset(np.sort(keep))
    y = torch.from_numpy(train_ds.labels)
    y_te = test_ds.labels
    tr, va = stratified_split(train_ds.labels, cfg.val_fraction, cfg.seed)
    tr, va = torch.from_numpy(np.sort(tr)), torch.from_numpy(np.sort(va))
    widths = [int(w) for w in cfg.widths]
    raw_probs, wn_probs, samples, raw_members, wn_members = [], [], [], {}, {}
    for i, w in enumerate(widths):
        run.info(f"committee: member {i + 1}/{len(widths)} (raw, seed {cfg.seed + i}; width {w})")
        raw_members[f"raw {i + 1}"] = _train_member(cfg, run, f"raw_{i}", train_ds.images, y, tr, va, test_ds.images, y_te, cfg.seed + i)
        raw_probs.append(raw_members[f"raw {i + 1}"]["probs"])
        wn_tr = normalise_batch(train_ds.images, w)
        wn_te = normalise_batch(test_ds.images, w)
        samples.append(wn_tr[:6])
        wn_members[f"w={w}"] = _train_member(cfg, run, f"width_{w}", wn_tr, y, tr, va, wn_te, y_te, cfg.seed + i)
        wn_probs.append(wn_members[f"w={w}"]["probs"])
    raw, wn = _committee_stats(raw_probs, y_te), _committee_stats(wn_probs, y_te)
    measured_w = [float(np.mean([box_width(im[..., 0]) for im in s])) for s in samples]
    run.log(raw_committee_err=raw["committee_err"], width_committee_err=wn["committee_err"],
            raw_mean_corr=raw["mean_corr"], width_mean_corr=wn["mean_corr"])

    grid = figs.image_grid(np.concatenate([train_ds.images[:6]] + samples), ["raw"] * 6 + [f"w={w}" for w in widths for _ in range(6)], ncols=6)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    m = len(widths)
    for ax, (name, st) in zip(axes, (("raw inputs, different seeds", raw), ("width-normalised inputs", wn))):
        im = ax.imshow(st["corr"], vmin=-0.1, vmax=1, cmap="viridis")
        for a in range(m):
            for b in range(m):
                ax.text(b, a, f"{st['corr'][a, b]:.2f}", ha="center", va="center", fontsize=7, color="w" if st["corr"][a, b] < 0.5 else "k")
        ax.set_title(f"{name}\nmean off-diagonal {st['mean_corr']:.3f}", fontsize=9)
        ax.set_xticks(range(m)), ax.set_yticks(range(m))
    fig.colorbar(im, ax=axes, shrink=0.8)
    p_corr = run.save_figure(fig, "committee_error_correlation")
    p_err = run.save_figure(figs.bar([f"raw {i + 1}" for i in range(m)] + ["raw committee"] + [f"w={w}" for w in widths] + ["width committee"],
                                     list(raw["member_err"]) + [raw["committee_err"]] + list(wn["member_err"]) + [wn["committee_err"]],
                                     "test error", "error rate", fmt="{:.2%}"), "committee_errors")
    p_grid = run.save_figure(grid, "committee_samples")

    s = Section("Committee of networks on width-normalised digits")
    s.text(f"Data: {train_ds.source}; {len(tr):,} training / {len(va):,} validation images, {len(y_te):,} test images "
           f"({test_ds.source}). {m} identical CNNs (two conv layers + two linear, inputs pooled to {cfg.size}×{cfg.size}) per "
           f"committee, {cfg.train.epochs} epochs of {cfg.train.optimizer} each. Width normalisation rescales each digit's bounding "
           f"box to w pixels wide (height kept) and re-centres it; measured mean box widths after normalisation: "
           + ", ".join(f"{mw:.1f} (w={w})" for mw, w in zip(measured_w, widths)) + ".")
    gain_raw = raw["member_err"].mean() - raw["committee_err"]
    gain_wn = wn["member_err"].mean() - wn["committee_err"]
    s.text(f"Raw committee (same inputs, seeds {cfg.seed}–{cfg.seed + m - 1}): members err {raw['member_err'].mean():.2%} on average "
           f"(best {raw['member_err'].min():.2%}); averaging their outputs gives {raw['committee_err']:.2%}, a gain of {gain_raw:.2%} "
           f"over the average member. Width-normalised committee: members err {wn['member_err'].mean():.2%} on average (best "
           f"{wn['member_err'].min():.2%}); the committee {wn['committee_err']:.2%}, a gain of {gain_wn:.2%}.")
    d_corr = raw["mean_corr"] - wn["mean_corr"]
    how = ("much less" if d_corr > 0.15 else "less" if d_corr > 0.05 else "slightly less" if d_corr > 0 else
           "not less (more or equally)")
    d_gain = gain_wn - gain_raw
    gain_word = "more than" if d_gain > 0.002 else "less than" if d_gain < -0.002 else "about as much as"
    cmp = ("lower" if wn["committee_err"] < raw["committee_err"] else
           "the same" if wn["committee_err"] == raw["committee_err"] else "higher")
    s.text(f"The members' errors are {how} correlated with width normalisation: mean pairwise correlation "
           f"{wn['mean_corr']:.3f} vs {raw['mean_corr']:.3f}. Images all members get wrong (no average can fix them): "
           f"{wn['all_wrong']:.2%} vs {raw['all_wrong']:.2%}; images at least one member gets wrong: {wn['any_wrong']:.2%} vs "
           f"{raw['any_wrong']:.2%}. Averaging gains {gain_word} for the raw committee ({gain_wn:.2%} vs {gain_raw:.2%}), and the "
           f"width-normalised committee's error is {cmp} ({wn['committee_err']:.2%} vs "
           f"{raw['committee_err']:.2%}).")
    s.text("Why it should help: averaging only cancels mistakes the members do not share. Different seeds on identical inputs "
           "give networks that learn nearly the same features and so fail on the same hard digits; each width shows the networks "
           "a differently distorted version of every digit, so their mistakes overlap less"
           + (" — visible here in the lower correlation and the smaller share of images that every member gets wrong."
              if d_corr > 0 and wn["all_wrong"] <= raw["all_wrong"] else
              " — in this run the measured overlap did not drop clearly; more epochs and the full set of widths make the effect larger."))
    s.table(["committee", "mean member error", "best member", "committee error", "gain", "mean error correlation", "all wrong"],
            [["raw, different seeds", float(raw["member_err"].mean()), float(raw["member_err"].min()), raw["committee_err"], float(gain_raw),
              raw["mean_corr"], raw["all_wrong"]],
             ["width-normalised", float(wn["member_err"].mean()), float(wn["member_err"].min()), wn["committee_err"], float(gain_wn),
              wn["mean_corr"], wn["all_wrong"]]])
    s.table(["member", "raw error", "width", "width-normalised error"],
            [[i + 1, float(raw["member_err"][i]), w, float(wn["member_err"][i])] for i, w in enumerate(widths)])
    s.figure(p_err, "Test error of each member and of each committee (averaged softmax outputs).", base=run.path)
    s.figure(p_corr, "Pairwise correlation of the members' 0/1 error vectors on the test set.", base=run.path)
    s.figure(p_grid, "The same training digits raw (top row) and after width normalisation to each width.", width=0.7, base=run.path)
    run.write_json("committee.json", {"raw": raw, "width": wn, "widths": widths, "measured_widths": measured_w})
    first = next(iter(raw_members.values()))
    settings = train_config_settings(
        cfg.train, loss="cross-entropy (mean over the batch)", steps=fit_steps(len(tr), cfg.train, len(first["history"]), history=first["history"]),
        epochs=len(first["history"]),
        preprocessing=f"pixels scaled to [0, 1], average-pooled to {cfg.size}×{cfg.size}, standardised with each member's "
                      "training mean and std; width-normalised members: each digit's bounding box rescaled to w pixels wide first",
        augmentation="none", extra={"members per committee": m, "seeds": f"{cfg.seed}–{cfg.seed + m - 1} (member i: seed + i)",
                                    "committee output": "the average of the members' softmax outputs"})
    settings["optimizer steps"] = f"{settings['optimizer steps']:,} per member"
    example = torch.zeros(2, 1, cfg.size, cfg.size)
    out = [s]
    for label, members in (("raw inputs, different seeds", raw_members), ("width-normalised inputs", wn_members)):
        out += training_report(run, "committee_raw" if members is raw_members else "committee_width",
                               members={k: {kk: v[kk] for kk in ("history", "splits", "best_epoch")} for k, v in members.items()},
                               classes=[str(c) for c in range(10)], settings=settings, model=small_cnn(cfg.size),
                               example_input=example, title=f"Standard report: every member, {label}", level=2)
    return out


EXPERIMENT = Experiment(
    name="committee",
    description="A committee of CNNs on width-normalised MNIST vs raw inputs: member/committee error, error correlation",
    exercise="Committees of networks with width-normalised inputs (Cireșan et al. 2011)",
    config=Config, run=run, order=83, trains=True,
)
