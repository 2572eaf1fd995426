"""deconv-inversion's report: sections, tables and figures from the measurements (numbers in the text
come from _deconv_text, generated from the values)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from tamrin.data.augment import normalize  # noqa: E402
from tamrin.experiments import _deconv_text as T  # noqa: E402
from tamrin.experiments._deconv_measure import REFERENCE, RULES, public  # noqa: E402
from tamrin.explain import grid_figure  # noqa: E402
from tamrin.report import Section  # noqa: E402
from tamrin.report import figures as figs  # noqa: E402
from tamrin.report.standard import architecture_section, evaluate_classification, training_section  # noqa: E402

ANSWER_TITLE = "p4.q2: what deconvolution and inversion show about a CNN"
SALIENCY_TITLE = "Deconvnet vs guided backpropagation vs gradients"
INVERSION_TITLE = "Inverting features with up-convolutional decoders"
OPTIM_TITLE = "Optimisation-based inversion with a total-variation prior"


def report(cfg, run, ds, parts, model, res, probs, sal, rows, baseline, opt, results) -> list[Section]:
    (p_tr, y_tr), (p_va, y_va), (p_te, y_te) = parts["train"], parts["val"], parts["test"]
    classes = list(ds.classes)
    pub_sal, pub_rows, pub_opt = public(sal), [public(r) for r in rows], public(opt)

    answer = Section(ANSWER_TITLE)
    for para in T.answer_p4q2(pub_sal, pub_rows, baseline, pub_opt):
        answer.text(para)
    answer.text(f"Set-up: `{cfg.model}` (width {cfg.width}) trained on {len(y_tr):,} CIFAR-10 images, "
                f"{results['cnn']['test_acc']:.1%} accuracy on {len(y_te):,} held-out images; every map and reconstruction "
                f"below is of held-out images. Training time with {results['threads']} thread(s), summed over any resumes: "
                f"CNN {results['cnn']['train_seconds']:.0f} s, decoders {sum(r['seconds'] for r in rows):.0f} s; wall time of "
                f"this process (a resumed one skips finished training): {results['wall_seconds'] / 60:.1f} min.")

    data = Section("Data and the CNN")
    data.text(f"Source: {ds.source}. The shared copy has no test split, so {len(y_te):,} images (stratified, seed {cfg.seed}) "
              f"are held out of the training split for every measurement; of the rest, {len(y_va):,} validate the CNN (its "
              f"best epoch is kept) and {len(y_tr):,} train it. Each decoder trains on the first {results['splits']['decoder_train']:,} "
              "of the CNN's training images (shuffled), so decoders too are evaluated on images they never saw.")
    data.figure(run.save_figure(figs.image_grid(p_tr[:16], [classes[int(c)] for c in y_tr[:16]], ncols=8), "samples"),
                "Training images with their labels.", width=0.7, base=run.path)
    sections = [answer, data]
    sections += training_section(
        "Training set-up: the CNN", level=2, classes=classes, model=model, example_input=p_tr[:1],
        loss_fn=torch.nn.CrossEntropyLoss(label_smoothing=cfg.train.label_smoothing), optimizer=cfg.train.optimizer,
        optimizer_params={"lr": cfg.train.lr, "momentum": cfg.train.momentum, "nesterov": cfg.train.nesterov,
                          "weight_decay": cfg.train.weight_decay},
        scheduler=f"{cfg.train.schedule} per step, warm-up {cfg.train.warmup_epochs:g} epoch(s)", epochs=cfg.train.epochs,
        steps=len(res.history) * min(-(-len(y_tr) // cfg.train.batch_size), cfg.train.max_steps_per_epoch or 10 ** 9),
        batch_size=cfg.train.batch_size, splits={"train": y_tr.numpy(), "validation": y_va.numpy(), "held-out test": y_te.numpy()},
        preprocessing="pixels scaled to [0, 1], normalised per channel with the CIFAR-10 mean and std",
        augmentation="random 32x32 crop of the 4-pixel zero-padded image and horizontal flip (p = 0.5)")
    _, cls = evaluate_classification(run, "test", y_te.numpy(), probs.numpy(), classes, history=res.history,
                                     title="Results: the CNN on held-out images", level=2)
    sections += cls
    sections += saliency_sections(cfg, run, classes, p_te, y_te, sal, pub_sal, model)
    sections += inversion_sections(cfg, run, p_te, rows, pub_rows, baseline, y_tr)
    sections += optimisation_sections(run, p_te, rows, opt, pub_opt)
    return sections


def every_class_figure(model, x, p, classes, images=2):
    """For `images` held-out images: each rule's signed input gradient for every class (one per column)."""
    from tamrin.explain import relu_saliency
    from tamrin.explain.overlay import gradient_image

    c = len(classes)
    n = min(images, len(x))
    fig, axes = plt.subplots(n * len(RULES), c + 1, figsize=(1.05 * (c + 1) + 0.6, 1.1 * n * len(RULES) + 0.3), squeeze=False)
    for i in range(n):
        for r, (key, label) in enumerate(RULES):
            e = relu_saliency(model, x[i:i + 1].expand(c, -1, -1, -1), list(range(c)), key)
            pics = gradient_image(e.gradients, shared=True)  # one scale per row: the classes are comparable
            row = i * len(RULES) + r
            axes[row, 0].imshow(p[i].permute(1, 2, 0).numpy()) if r == 0 else axes[row, 0].axis("off")
            for k in range(c):
                axes[row, k + 1].imshow(pics[k])
                if row == 0:
                    axes[row, k + 1].set_title(classes[k], fontsize=7)
            axes[row, 1].set_ylabel(label, fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def saliency_sections(cfg, run, classes, p_te, y_te, sal, pub, model) -> list[Section]:
    s = Section(SALIENCY_TITLE)
    s.text("The three maps come from one backward pass from the class score to the pixels; they differ only at each ReLU "
           "y = max(x, 0) with incoming gradient g: the gradient passes g[x > 0], the deconvnet g[g > 0] (the forward mask "
           "ignored), guided backpropagation g[x > 0][g > 0]. Max-pooling is routed by its switches in all three. A map "
           "is the largest |value| over the colour channels.")
    s.text(T.specificity_text(pub))
    m = pub["methods"]
    keys = [k for k, _ in RULES] + [REFERENCE[0]]
    s.table(["method", "map correlation, 2 classes", "median", "images above 0.9", "signed gradients, 2 classes",
             "map correlation, 2 images", "deletion: pixels", f"deletion: {pub['patch']}x{pub['patch']} squares"],
            [[m[k]["label"], m[k]["corr_mean"], m[k]["corr_median"], m[k]["corr_above_0_9"],
              "" if m[k]["signed_corr_mean"] is None else m[k]["signed_corr_mean"], m[k]["image_corr_mean"],
              m[k]["deletion_area"], m[k]["deletion_patch_area"]] for k in keys]
            + [["random removal", "", "", "", "", "", pub["random"]["deletion_area"], pub["random"]["deletion_patch_area"]]],
            f"{pub['n']:,} held-out images. Class specificity: Pearson correlation, per image, between the map of the predicted "
            "class and the map of a random other class (1 = the class makes no difference). Image specificity: the map of the "
            "same class for the previous image. Deletion: mean accuracy over the removal schedule "
            f"{', '.join(f'{f:.0%}' for f in pub['fractions'])} (lower = the map finds the evidence sooner).")
    k = min(cfg.show, len(y_te))
    pred, other = sal["_pred"], sal["_other"]
    panels = []
    for key, label in RULES:
        panels.append((f"{label}\n(predicted)", sal["methods"][key]["_grads"][:k]))
        panels.append((f"{label}\n(other class)", sal["methods"][key]["_grads_other"][:k]))
    titles = [f"{classes[int(y_te[i])]}\npred {classes[int(pred[i])]}\nother {classes[int(other[i])]}" for i in range(k)]
    path = run.save_figure(grid_figure(p_te[:k], panels, titles), "saliency_side_by_side")
    s.figure(path, "Held-out images (top), then for each rule the signed input gradient for the predicted class and for a "
             "random other class (grey = 0, one scale per image). Mean correlation of the two classes' maps over all "
             f"{pub['n']:,} images: " + ", ".join(f"{m[k]['label']} {m[k]['corr_mean']:.2f}" for k, _ in RULES) + ".", base=run.path)
    path = run.save_figure(every_class_figure(model, normalize(p_te[:2]), p_te[:2], classes), "saliency_every_class")
    s.figure(path, "Two held-out images (left) and each rule's signed input gradient for every one of the classes (columns), "
             "one colour scale per row so the classes can be compared.", base=run.path)
    s.text(T.deletion_text(pub))
    fr = [100 * f for f in pub["fractions"]]
    for curve, what, name in (("deletion", "single pixels", "deletion_curves"),
                              ("deletion_patch", f"{pub['patch']}x{pub['patch']} squares", "deletion_curves_patches")):
        series = {m[key]["label"]: m[key][curve] for key in keys}
        series["random removal"] = pub["random"][curve]
        s.figure(run.save_figure(figs.lines(fr, series, f"Deletion curves, {what} (held-out images)", "image removed (%)", "accuracy"), name),
                 f"Accuracy as the most salient {what} (by each map, for the predicted class) are set to the data mean, vs random {what}.",
                 width=0.75, base=run.path)
    return [s]


def inversion_sections(cfg, run, p_te, rows, pub_rows, baseline, y_tr) -> list[Section]:
    s = Section(INVERSION_TITLE)
    s.text("Dosovitskiy & Brox train a network to map a layer's features back to the image; the reconstruction shows what "
           "the layer has kept. Here one decoder per depth: 3x3 convolutions on the feature map (fully connected layers to a "
           "4x4 map for the logits), then transposed convolutions (kernel 4, stride 2), each doubling the side and halving "
           "the channels, leaky ReLU 0.2, trained with the pixel MSE on the frozen CNN's features. Errors are on held-out "
           "images, pixels in [0, 1].")
    s.text(T.inversion_text(pub_rows, baseline))
    s.table(["layer", "feature values", "decoder parameters", "upconvolutions", "MSE", "PSNR (dB)", "mean-colour correlation"],
            [[r["label"], r["dims"], r["params"], r["upconvs"], r["mse"], r["psnr"], r["colour_corr"]] for r in pub_rows]
            + [["mean training image (baseline)", "", "", "", baseline["mse"], baseline["psnr"], ""]],
            f"Reconstruction error per depth on {len(p_te):,} held-out images. PSNR: mean over images of 10 log10(1 / MSE). "
            "Mean-colour correlation: Pearson between the per-image mean R, G, B of reconstruction and original.")
    k = min(cfg.show, len(p_te))
    pics = [p_te[:k]] + [r["_rec"][:k] for r in rows]
    fig, axes = plt.subplots(len(pics), k, figsize=(1.3 * k + 1.6, 1.3 * len(pics)), squeeze=False)
    for i, (imgs, name) in enumerate(zip(pics, ["original"] + [r["label"] for r in rows])):
        for j in range(k):
            axes[i, j].imshow(imgs[j].permute(1, 2, 0).clamp(0, 1).numpy())
            axes[i, j].set_xticks([]), axes[i, j].set_yticks([])
            if i > 0:
                axes[i, j].set_xlabel(f"{float(rows[i - 1]['_mse'][j]):.3f}", fontsize=6, labelpad=1)
        axes[i, 0].set_ylabel(name.replace(" (", "\n("), fontsize=7)
    fig.tight_layout()
    s.figure(run.save_figure(fig, "reconstructions"), "Held-out images (top) and their reconstructions from each depth "
             "(per-image MSE under each).", base=run.path)
    s.figure(run.save_figure(figs.bar([r["layer"] for r in pub_rows] + ["mean image"], [r["psnr"] for r in pub_rows] + [baseline["psnr"]],
                                      "Reconstruction PSNR per depth", "PSNR (dB, higher = closer)", fmt="{:.1f}"), "psnr_per_depth"),
             "PSNR of the decoders' reconstructions per depth, and of the mean training image.", width=0.7, base=run.path)
    ep = np.arange(1, max(len(r["history"]) for r in rows) + 1)
    s.figure(run.save_figure(figs.lines(ep, {r["layer"]: [h["train_loss"] for h in r["history"]] for r in rows},
                                        "Decoder training loss", "epoch", "training MSE (pixels in [0, 1])", logy=True), "decoder_curves"),
             "Training MSE per epoch of each decoder (the held-out error is in the table).", base=run.path)
    d = cfg.decoder_train
    out = [s]
    out += training_section(
        "Training set-up: the decoders", level=2, loss_fn="mean squared error in pixel space (pixels in [0, 1])",
        optimizer=d.optimizer, optimizer_params={"lr": d.lr, "weight_decay": d.weight_decay}, scheduler=f"{d.schedule} per step",
        epochs=d.epochs, batch_size=d.batch_size,
        splits={"decoder training images": int(min(cfg.decoder_images, len(y_tr))),
                "held-out test": len(p_te)},
        preprocessing="input: the frozen CNN's features (eval mode) of the normalised image; target: the image in [0, 1]",
        augmentation="none", extra={"decoder width": cfg.decoder_width, "convolutions before upsampling": cfg.decoder_convs,
                                    "model selection": "none: the last epoch is kept"})
    first = next((r for r in rows if r["layer"] != "logits"), rows[0])  # the smallest decoder: a short table
    out.append(architecture_section(first["_decoder"], torch.zeros(1, *first["shape"]), title=f"Decoder architecture ({first['layer']})", level=3))
    return out


def optimisation_sections(run, p_te, rows, opt, pub) -> list[Section]:
    s = Section(OPTIM_TITLE)
    s.text("Mahendran & Vedaldi invert without training: start from grey noise and descend on the pixels until the features "
           "match, min ||phi(x) - phi(x0)||^2 / ||phi(x0)||^2 + lambda TV(x), pixels clipped to [0, 1] after every Adam step. "
           "The total-variation prior prefers piecewise-smooth images among the many that share the features.")
    s.text(T.optimisation_text(pub))
    s.table(["method", "relative feature error", "MSE", "PSNR (dB)"],
            [["decoder (learned)", pub["dec_feature_error"], pub["dec_mse"], pub["dec_psnr"]],
             ["optimisation + TV prior", pub["opt_feature_error"], pub["opt_mse"], pub["opt_psnr"]]],
            f"{pub['n']} held-out images at {pub['label']}. Relative feature error: ||phi(x_rec) - phi(x0)|| / ||phi(x0)||.")
    n = pub["n"]
    dec = next(r for r in rows if r["layer"] == opt["layer"])
    fig, axes = plt.subplots(3, n, figsize=(1.4 * n + 1.4, 4.4), squeeze=False)
    for i, (imgs, name) in enumerate(((p_te[:n], "original"), (dec["_rec"][:n], "decoder"), (opt["_rec"], "optimisation\n+ TV"))):
        for j in range(n):
            axes[i, j].imshow(imgs[j].permute(1, 2, 0).clamp(0, 1).numpy())
            axes[i, j].set_xticks([]), axes[i, j].set_yticks([])
        axes[i, 0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    s.figure(run.save_figure(fig, "optimisation_vs_decoder"), f"Held-out images, the decoder's and the optimisation's "
             f"reconstructions from {pub['label']}.", width=0.8, base=run.path)
    steps = np.arange(1, len(opt["loss_curve"]) + 1)
    s.figure(run.save_figure(figs.lines(steps, {"total": opt["loss_curve"], "feature term": opt["feature_curve"]},
                                        "Optimisation-based inversion", "Adam step", "loss (batch mean)", logy=True), "optimisation_loss"),
             "Objective per step: the normalised feature distance and the total with the TV term.", width=0.7, base=run.path)
    return [s]
