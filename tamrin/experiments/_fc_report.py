"""The five studies and the headline of fc-from-scratch, each returning a report Section.

Every sentence with a number is formatted from a value measured in the same run.
"""
from __future__ import annotations

import time

import numpy as np

from tamrin.report import Section
from tamrin.report.training_report import training_report


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(ax, title: str, xlabel: str, ylabel: str, epochs=None, legend_size: float = 8, ncol: int = 1):
    """Title, both axis labels, grid and legend on every panel; integer ticks and sensible limits on an epoch axis
    (issue #16: panels without axis labels, fractional epoch ticks)."""
    from tamrin.report.figures import epoch_axis

    if title:
        ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=legend_size, ncol=ncol)
    if epochs is not None:
        epoch_axis(ax, list(epochs))
    else:  # iterations are whole numbers too
        ax.xaxis.get_major_locator().set_params(integer=True)


def _smooth(x, k=10):
    x = np.asarray(x, dtype=float)
    if len(x) < k:
        return x
    return np.convolve(x, np.ones(k) / k, mode="valid")


def study_overfit(cfg, d, run) -> Section:
    from tamrin.experiments.fc_from_scratch import train

    data = d.solver_data(50)
    model, s = train(data, run, "a_overfit", [100, 100], "adam", 1e-3, cfg.overfit_epochs, batch_size=25,
                     seed=cfg.seed, init="he")
    hit = next((i + 1 for i, a in enumerate(s.train_acc_history) if a == 1.0), None)
    final_train = s.train_acc_history[-1]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ep = np.arange(1, len(s.train_acc_history) + 1)
    ax.plot(ep, s.train_acc_history, marker="o", ms=3, label="train (50 examples)")
    ax.plot(ep, s.val_acc_history, "--", marker="o", ms=3, label=f"validation ({len(d.y_val)} examples)")
    _finish(ax, "", "epoch", "accuracy", ep)
    p = run.save_figure(fig, "a_overfit")
    sec = Section("(a) Overfitting 50 examples", level=2)
    if hit is not None:
        sec.text(f"A [100, 100] network with He initialisation and Adam (lr 0.001, batch 25) reached 100% training "
                 f"accuracy on 50 examples after {hit} epoch(s) ({hit * 2} updates). The validation accuracy is "
                 f"{s.val_acc_history[-1]:.1%} at the end: the network memorised the 50 examples, which says the "
                 f"forward/backward pass and the optimizer work, and nothing about generalisation.")
    else:
        sec.text(f"The network did not reach 100% training accuracy on 50 examples within {cfg.overfit_epochs} "
                 f"epochs (final {final_train:.1%}).")
        run.notice(f"fc-from-scratch (a): 100% training accuracy on 50 examples not reached (final {final_train:.1%})")
    sec.figure(p, "Training vs validation accuracy while memorising 50 examples.", base=run.path)
    return sec


def study_optimizers(cfg, d, run) -> Section:
    from tamrin.experiments.fc_from_scratch import train

    data = d.solver_data(cfg.max_train)
    rules = [("sgd", 5e-2), ("sgd_momentum", 1e-2), ("rmsprop", 3e-4), ("adam", 1e-3)]
    res = {}
    for rule, lr in rules:
        t0 = time.perf_counter()
        _, s = train(data, run, f"b_{rule}", [100, 100], rule, lr, cfg.study_epochs, batch_size=100, seed=cfg.seed,
                     init="he")
        res[rule] = (lr, s, time.perf_counter() - t0)
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for rule, (lr, s, _) in res.items():
        axes[0].plot(_smooth(s.loss_history), label=f"{rule} (lr {lr:g})")
        ep = np.arange(1, len(s.val_acc_history) + 1)
        axes[1].plot(ep, s.train_acc_history, marker="o", label=rule)
        axes[2].plot(ep, s.val_acc_history, marker="o", label=rule)
    ep = np.arange(1, cfg.study_epochs + 1)
    _finish(axes[0], "training loss (moving average of 10 iterations)", "iteration", "loss")
    _finish(axes[1], "train accuracy", "epoch", "accuracy", ep)
    _finish(axes[2], "validation accuracy", "epoch", "accuracy", ep)
    p = run.save_figure(fig, "b_optimizers")
    n_iter = len(next(iter(res.values()))[1].loss_history)
    rows = [[rule, f"{lr:g}", f"{np.mean(s.loss_history[-10:]):.4f}", f"{s.train_acc_history[-1]:.1%}",
             f"{s.val_acc_history[-1]:.1%}", f"{sec:.1f}"] for rule, (lr, s, sec) in res.items()]
    best = max(res, key=lambda r: res[r][1].val_acc_history[-1])
    worst = min(res, key=lambda r: res[r][1].val_acc_history[-1])
    first_loss = {r: float(np.mean(s.loss_history[: max(1, n_iter // cfg.study_epochs)])) for r, (_, s, _) in res.items()}
    sec = Section("(b) SGD vs momentum vs RMSprop vs Adam", level=2)
    sec.text(f"Same network ([100, 100], He init), same data ({len(data['y_train'])} training images), same budget "
             f"({cfg.study_epochs} epochs = {n_iter} updates of batch 100) for each update rule, with the usual "
             f"learning rate for each (plain SGD needs a larger one).")
    sec.table(["update rule", "lr", "final loss (mean of last 10)", "train acc", "val acc", "seconds"], rows,
              "Same budget, different update rules.")
    sec.text(f"After {cfg.study_epochs} epochs {best} has the best validation accuracy "
             f"({res[best][1].val_acc_history[-1]:.1%}) and {worst} the lowest "
             f"({res[worst][1].val_acc_history[-1]:.1%}). Over the first epoch the mean loss was "
             + ", ".join(f"{r} {v:.3f}" for r, v in first_loss.items())
             + f"; the fastest start was {min(first_loss, key=first_loss.get)}'s. Momentum accumulates a velocity "
               "along consistent gradient directions, RMSprop and Adam divide each parameter's step by a running "
               "RMS of its gradients; which one wins on a given budget depends on the learning rate chosen for each.")
    sec.figure(p, "Loss and accuracy curves of the four update rules.", base=run.path)
    return sec


def study_dropout(cfg, d, run) -> Section:
    from tamrin.experiments.fc_from_scratch import train

    data = d.solver_data(cfg.max_train)
    res = {}
    for p_drop in (0.0, 0.25, 0.5):
        _, s = train(data, run, f"c_dropout_{p_drop:g}", [256, 256], "adam", 1e-3, cfg.dropout_epochs,
                     batch_size=100, seed=cfg.seed, init="he", dropout=p_drop)
        res[p_drop] = s
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for i, (p_drop, s) in enumerate(res.items()):
        ep = np.arange(1, len(s.val_acc_history) + 1)
        ax.plot(ep, s.train_acc_history, "-", color=f"C{i}", label=f"p = {p_drop:g} train")
        ax.plot(ep, s.val_acc_history, "--", color=f"C{i}", label=f"p = {p_drop:g} val")
    _finish(ax, "", "epoch", "accuracy", np.arange(1, cfg.dropout_epochs + 1), ncol=3)
    p = run.save_figure(fig, "c_dropout")
    gaps = {k: s.train_acc_history[-1] - s.val_acc_history[-1] for k, s in res.items()}
    rows = [[f"{k:g}", f"{s.train_acc_history[-1]:.1%}", f"{s.val_acc_history[-1]:.1%}", f"{gaps[k]:+.1%}",
             f"{s.best_val_acc:.1%}"] for k, s in res.items()]
    sec = Section("(c) Dropout 0 / 0.25 / 0.5", level=2)
    sec.text(f"p is the probability of dropping a unit (inverted dropout: kept units are scaled by 1/(1 − p) during "
             f"training, nothing changes at test time). Network [256, 256], Adam lr 0.001, {cfg.dropout_epochs} "
             f"epochs on {len(data['y_train'])} images; accuracies measured in test mode (no dropout).")
    sec.table(["drop p", "train acc", "val acc", "gap (train − val)", "best val acc"], rows,
              "Final train and validation accuracy.")
    g = [gaps[0.0], gaps[0.25], gaps[0.5]]
    if g[0] > g[1] > g[2]:
        trend = "the gap shrinks steadily as dropout grows"
    elif g[2] < g[0]:
        trend = "the gap is smaller with p = 0.5 than without dropout, but not monotonically"
    else:
        trend = "here dropout did not shrink the gap"
    one = 1.0 / len(d.y_val)
    sec.text(f"Without dropout the gap between training and validation accuracy is {gaps[0.0]:+.1%}; with p = 0.25 "
             f"it is {gaps[0.25]:+.1%} and with p = 0.5 {gaps[0.5]:+.1%}: {trend}. The best validation accuracies "
             f"are {res[0.0].best_val_acc:.1%}, {res[0.25].best_val_acc:.1%} and {res[0.5].best_val_acc:.1%}. One "
             f"validation image is worth {one:.2%} here, so differences of a few images are within noise.")
    sec.figure(p, "Train (solid) and validation (dashed) accuracy per epoch.", base=run.path)
    return sec


def study_batchnorm(cfg, d, run) -> Section:
    from tamrin.experiments.fc_from_scratch import hidden_activation_stats, train
    from tamrin.scratch.nets import FullyConnectedNet

    data = d.solver_data(cfg.max_train)
    dims, scale = [100] * 5, 0.02
    stats = {}
    for norm in (None, "batchnorm"):
        m0 = FullyConnectedNet(dims, input_dim=data["X_train"].shape[1], num_classes=10, normalization=norm,
                               weight_scale=scale, init="normal", seed=cfg.seed)
        stats[norm] = hidden_activation_stats(m0, data["X_train"][:500])
    res = {}
    for norm in (None, "batchnorm"):
        _, s = train(data, run, f"d_{norm or 'none'}", dims, "sgd_momentum", 1e-2, cfg.study_epochs, batch_size=100,
                     seed=cfg.seed, init="normal", weight_scale=scale, normalization=norm)
        res[norm] = s
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    for norm, s in res.items():
        lab = norm or "no normalisation"
        axes[0].plot(_smooth(s.loss_history), label=lab)
        axes[1].plot(np.arange(1, len(s.val_acc_history) + 1), s.val_acc_history, marker="o", label=lab)
        axes[2].semilogy(np.arange(1, 6), np.maximum(stats[norm], 1e-12), marker="o", label=lab)
    _finish(axes[0], "training loss (moving average of 10 iterations)", "iteration", "loss")
    _finish(axes[1], "validation accuracy", "epoch", "accuracy", np.arange(1, cfg.study_epochs + 1))
    _finish(axes[2], "std of hidden activations at init", "hidden layer", "standard deviation (log scale)")
    p = run.save_figure(fig, "d_batchnorm")
    rows = [[norm or "none", f"{stats[norm][0]:.2e}", f"{stats[norm][-1]:.2e}", f"{np.mean(s.loss_history[-10:]):.3f}",
             f"{s.val_acc_history[-1]:.1%}"] for norm, s in res.items()]
    sec = Section("(d) Batch normalisation in a deep net with a poor initial scale", level=2)
    sec.text(f"Five hidden layers of 100 units, weights drawn from N(0, {scale:g}²) — far below He's "
             f"√(2/fan_in) — and SGD with momentum 0.9, lr 0.01, {cfg.study_epochs} epochs.")
    sec.table(["normalisation", "activation std, layer 1 (init)", "activation std, layer 5 (init)",
               "final loss", "val acc"], rows, "Effect of batch norm.")
    sn, sb = res[None], res["batchnorm"]
    sec.text(f"Without normalisation the activations shrink layer after layer (std {stats[None][0]:.2e} after layer 1, "
             f"{stats[None][-1]:.2e} after layer 5), so the scores and the gradients reaching the first layers are "
             f"tiny; after {cfg.study_epochs} epochs the loss is {np.mean(sn.loss_history[-10:]):.3f} (ln 10 = "
             f"{np.log(10):.3f} is chance) and validation accuracy {sn.val_acc_history[-1]:.1%}. Batch norm rescales "
             f"every layer to unit variance (std {stats['batchnorm'][-1]:.2f} at layer 5), and the same net reaches "
             f"loss {np.mean(sb.loss_history[-10:]):.3f} and {sb.val_acc_history[-1]:.1%} validation accuracy.")
    sec.figure(p, "Loss, validation accuracy and the activation scale per layer at initialisation.", base=run.path)
    return sec


def study_init(cfg, d, run) -> Section:
    from tamrin.experiments.fc_from_scratch import distinct_units, hidden_activation_stats, train
    from tamrin.scratch.nets import FullyConnectedNet

    data = d.solver_data(cfg.max_train)
    dims = [256, 256, 256]
    inits = [("zero", 0.0), ("normal", 0.01), ("xavier", 0.0), ("he", 0.0)]
    res = {}
    for init, scale in inits:
        m0 = FullyConnectedNet(dims, input_dim=data["X_train"].shape[1], num_classes=10, init=init,
                               weight_scale=scale or 1e-2, seed=cfg.seed)
        act = hidden_activation_stats(m0, data["X_train"][:500])
        model, s = train(data, run, f"e_{init}", dims, "sgd_momentum", 1e-2, cfg.study_epochs, batch_size=100,
                         seed=cfg.seed, init=init, weight_scale=scale or 1e-2)
        units = [distinct_units(model.params[f"W{i}"]) for i in range(1, len(dims) + 1)]
        res[init] = (s, act, units)
        if init == "zero":
            zero_max = max(float(np.abs(model.params[f"W{i}"]).max()) for i in range(1, len(dims) + 1))
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    # zero and small-normal both sit at chance (loss ln 10): zero is drawn last, thick, dashed and with its own
    # hollow markers so it is not hidden under the small-normal line, which still shows through its gaps (issue #16)
    style = {"zero": dict(color="black", ls=(0, (4, 3)), lw=1.8, marker="s", ms=6, mfc="none", zorder=5),
             "normal": dict(color="C1", ls="-", lw=1.4, marker="o", ms=3, zorder=3),
             "xavier": dict(color="C2", ls="-", lw=1.4, marker="^", ms=3, zorder=3),
             "he": dict(color="C3", ls="-", lw=1.4, marker="v", ms=3, zorder=3)}
    for init in ["normal", "xavier", "he", "zero"]:
        s, act, _ = res[init]
        loss = _smooth(s.loss_history)
        st = dict(style[init])
        axes[0].plot(loss, **{**st, "marker": None}, label=init)
        axes[1].plot(np.arange(1, len(s.val_acc_history) + 1), s.val_acc_history, **st, label=init)
    _finish(axes[0], "training loss (moving average of 10 iterations)", "iteration", "loss")
    _finish(axes[1], "validation accuracy", "epoch", "accuracy", np.arange(1, cfg.study_epochs + 1))
    p = run.save_figure(fig, "e_init")
    label = {"zero": "zero", "normal": "small normal (std 0.01)", "xavier": "Xavier N(0, 1/fan_in)",
             "he": "He N(0, 2/fan_in)"}
    rows = [[label[k], " / ".join(f"{a:.2e}" for a in act), " / ".join(str(u) for u in units),
             f"{np.mean(s.loss_history[-10:]):.3f}", f"{s.val_acc_history[-1]:.1%}"] for k, (s, act, units) in res.items()]
    sec = Section("(e) Initialisation: zero vs small normal vs Xavier vs He", level=2)
    sec.text(f"Three hidden ReLU layers of 256 units, SGD with momentum 0.9, lr 0.01, {cfg.study_epochs} epochs; "
             f"only the initial weights differ.")
    sec.table(["init", "activation std at init (layers 1/2/3)", "distinct hidden units after training (per layer)",
               "final loss", "val acc"], rows, "Initialisation study.")
    sz, _, uz = res["zero"]
    sec.text(f"Zero initialisation: every hidden unit computes the same function and receives the same gradient, so "
             f"the units can never become different — after training each hidden layer has {', '.join(map(str, uz))} "
             f"distinct unit(s) out of 256, and the largest hidden weight is {zero_max:.1e} (with ReLU they stay "
             f"exactly zero: the hidden outputs are 0 and ReLU'(0) = 0, so no gradient reaches them). The "
             f"network can only learn the output bias: validation accuracy {sz.val_acc_history[-1]:.1%}, loss "
             f"{np.mean(sz.loss_history[-10:]):.3f} vs ln 10 = {np.log(10):.3f}.")
    sn, an, _ = res["normal"]
    sx, ax_, _ = res["xavier"]
    sh, ah, _ = res["he"]
    sec.text(f"Small normal weights break the symmetry but shrink the signal: the activation std falls from "
             f"{an[0]:.2e} to {an[-1]:.2e} over three layers, and validation accuracy after {cfg.study_epochs} "
             f"epochs is {sn.val_acc_history[-1]:.1%}. Xavier keeps the scale closer ({ax_[0]:.2e} → {ax_[-1]:.2e}; "
             f"it was derived for linear/tanh units, ReLU halves the variance each layer) and reaches "
             f"{sx.val_acc_history[-1]:.1%}; He's factor 2 compensates ReLU ({ah[0]:.2e} → {ah[-1]:.2e}) and reaches "
             f"{sh.val_acc_history[-1]:.1%}.")
    sec.figure(p, "Loss and validation accuracy for the four initialisations.", base=run.path)
    return sec


def scratch_architecture(model) -> tuple[list[str], list[list]]:
    """(columns, rows) of a tamrin.scratch.FullyConnectedNet: one row per affine layer with its norm and dropout."""
    rows = []
    for i in range(1, model.num_layers + 1):
        W = model.params[f"W{i}"]
        n = W.size + model.params[f"b{i}"].size
        extra = []
        if i < model.num_layers:
            if model.normalization:
                n += model.params[f"gamma{i}"].size + model.params[f"beta{i}"].size
                extra.append(model.normalization)
            extra.append("ReLU")
            if model.use_dropout:
                extra.append(f"dropout {model.dropout:g}")
        rows.append([f"affine {i}", f"{W.shape[0]} → {W.shape[1]}" + (" + " + ", ".join(extra) if extra else " (scores)"), int(n)])
    rows.append(["total", "", int(sum(p.size for p in model.params.values()))])
    return ["layer", "type", "parameters"], rows


def _predict(model, X: np.ndarray, batch: int = 2000) -> np.ndarray:
    return np.concatenate([np.argmax(model.loss(X[i:i + batch]), 1) for i in range(0, len(X), batch)])


def headline(cfg, d, run) -> list[Section]:
    from tamrin.experiments.fc_from_scratch import shift_augment, train

    h = cfg.headline
    aug = shift_augment(h.shift_augment, d.side, d.mean, d.std) if h.shift_augment > 0 else None
    t0 = time.perf_counter()
    model, s = train(d.solver_data(), run, "headline", h.hidden_dims, "adam", h.lr, h.epochs, batch_size=h.batch_size,
                     seed=cfg.seed, lr_decay=h.lr_decay, augment=aug, init="he", dropout=h.dropout, reg=h.reg,
                     normalization=None if h.normalization == "none" else h.normalization)
    # training time summed over epochs (restored from the checkpoint when the run was resumed)
    seconds = float(sum(s.epoch_seconds)) or time.perf_counter() - t0
    preds = {k: _predict(model, X) for k, X in (("train", d.X_train), ("validation", d.X_val), ("test", d.X_test))}
    pred = preds["test"]
    acc = float(np.mean(pred == d.y_test))
    per_class = [float(np.mean(pred[d.y_test == c] == c)) for c in range(10)]
    run.write_json("headline.json", {"test_accuracy": acc, "n_test": int(len(d.y_test)), "n_train": int(len(d.y_train)),
                                     "n_val": int(len(d.y_val)), "best_epoch": s.best_epoch,
                                     "best_val_acc": s.best_val_acc, "seconds": seconds, "per_class": per_class})
    # the per-epoch records of this model as logged (a resumed run keeps those of the epochs before the kill)
    history = [{"epoch": r["epoch"], "train_loss": r["loss"], "train_acc": r["train_acc"], "val_acc": r["val_acc"],
                **({"val_loss": r["val_loss"]} if "val_loss" in r else {})} for r in run.metrics if r.get("tag") == "headline"]
    n_iter = max(len(d.y_train) // h.batch_size, 1)
    settings = {
        "loss function": f"softmax cross-entropy + L2 0.5·{h.reg:g}·ΣW² (weight matrices only)",
        "optimizer": f"Adam (learning_rate={h.lr:g}, beta1=0.9, beta2=0.999, epsilon=1e-08), tamrin.scratch.optim.adam",
        "learning-rate schedule": f"×{h.lr_decay:g} after every epoch",
        "epochs": h.epochs, "optimizer steps": n_iter * s.epoch, "batch size": h.batch_size,
        "model selection": "the epoch with the highest validation accuracy (first one on ties)",
        "network": f"hidden layers {h.hidden_dims}, {h.normalization}, dropout p = {h.dropout:g}, He initialisation",
        "preprocessing": f"pixels scaled to [0, 1], flattened to {d.side * d.side}, standardised with the training mean "
                         f"{d.mean:.4f} and std {d.std:.4f}",
        "augmentation": f"random shifts of up to {h.shift_augment} pixels" if aug else "none",
        "per-epoch curves": "train loss: mean over the epoch's batches (training mode); train and validation accuracy and "
                            "validation loss: the weights after the epoch, test mode",
    }
    std = training_report(run, "headline", history=history, best_epoch=s.best_epoch, classes=[str(c) for c in range(10)],
                          splits={k: (y, preds[k]) for k, y in (("train", d.y_train), ("validation", d.y_val), ("test", d.y_test))},
                          settings=settings, title="Standard training report (headline model)", level=2,
                          architecture=scratch_architecture(model))
    target = 0.93
    digits = "the embedded scikit-learn digits" if (d.is_fallback or cfg.embedded) else "the MNIST training data"
    sec = Section(f"Headline: FullyConnectedNet on {digits}, evaluated on the test set")
    sec.text(f"Data: {d.source}. {len(d.y_train)} training images, {len(d.y_val)} validation images (a stratified "
             f"split of the training file, used only to pick the epoch), {len(d.y_test)} test images never seen "
             f"during training or selection.")
    sec.text(f"Recipe: hidden layers {h.hidden_dims}, {h.normalization}, dropout p = {h.dropout:g}, L2 {h.reg:g}, He "
             f"init, Adam lr {h.lr:g} decayed ×{h.lr_decay:g} per epoch, batch {h.batch_size}, {h.epochs} epochs, "
             + (f"random shifts of up to {h.shift_augment} pixels as augmentation (a small training set benefits "
                f"from seeing each digit at a few positions)." if aug else "no augmentation."))
    sec.text(f"Test accuracy: {acc:.2%} ({int(np.sum(pred == d.y_test))} of {len(d.y_test)}), with the parameters of "
             f"epoch {s.best_epoch} (validation accuracy {s.best_val_acc:.2%}); training took {seconds:.0f} s. "
             f"The weakest digit is {int(np.argmin(per_class))} ({min(per_class):.1%}), the strongest "
             f"{int(np.argmax(per_class))} ({max(per_class):.1%}).")
    if d.is_fallback or cfg.embedded:
        sec.text("This run used the embedded scikit-learn digits, so the number is not an MNIST result.")
    elif acc < target:
        run.notice(f"fc-from-scratch headline: test accuracy {acc:.2%} is below the {target:.0%} target")
    sec.table(["digit"] + [str(c) for c in range(10)], [["test accuracy"] + [f"{a:.1%}" for a in per_class]],
              "Per-class test accuracy.")
    return [sec, *std]


def run_studies(cfg, run) -> list[Section]:
    from tamrin.experiments.fc_from_scratch import load_data

    d = load_data(cfg, run)
    run.info(f"data: {d.source}; train {len(d.y_train)}, val {len(d.y_val)}, test {len(d.y_test)}")
    intro = Section("Set-up")
    intro.text(f"All networks are tamrin.scratch.FullyConnectedNet (NumPy, float32) trained by tamrin.scratch.Solver. "
               f"Data: {d.source}; images flattened to {d.side * d.side} values and standardised with the training "
               f"mean {d.mean:.4f} and std {d.std:.4f}. The studies (a)–(e) use up to {cfg.max_train} training images "
               f"and the {len(d.y_val)}-image validation split.")
    studies = Section("Studies")
    out = [intro, studies]
    for name, fn in (("a", study_overfit), ("b", study_optimizers), ("c", study_dropout), ("d", study_batchnorm),
                     ("e", study_init)):
        t0 = time.perf_counter()
        out.append(fn(cfg, d, run))
        run.info(f"study ({name}) done in {time.perf_counter() - t0:.1f} s")
    out += headline(cfg, d, run)
    return out
