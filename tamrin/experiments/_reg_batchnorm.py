"""regularization-lab, part 2: batch normalisation — curves, noise, single-class batches, conv bias,
and what scaling weights or inputs by α does with and without BN."""
from __future__ import annotations

import torch

from tamrin.labs import batchnorm_probe as bp
from tamrin.labs.nets import MLP
from tamrin.report import Section
from tamrin.report import figures as figs
from tamrin.train import fit


def _mlp(cfg, d_in, bn):
    torch.manual_seed(cfg.seed)
    return MLP(d_in, tuple(cfg.hidden), bn=bn)


def batchnorm_curves(cfg, run, train, val) -> tuple[Section, dict]:
    d_in = train[0][0].numel()
    res = {name: fit(_mlp(cfg, d_in, bn), train, val, cfg.train, run, tag=f"mlp_{name}", seed=cfg.seed)
           for name, bn in (("plain", False), ("bn", True))}
    fig = figs.lines(range(1, cfg.train.epochs + 1),
                     {f"{n} train loss": [h["train_loss"] for h in r.history] for n, r in res.items()}
                     | {f"{n} val loss": [h["val_loss"] for h in r.history] for n, r in res.items()},
                     "MLP with and without batch norm", "epoch", "loss")
    p = run.save_figure(fig, "reg_bn_curves")
    a, b = res["plain"].history, res["bn"].history
    s = Section("Batch normalisation")
    s.text(f"The same {d_in}-{'-'.join(map(str, cfg.hidden))}-10 ReLU MLP, trained with SGD at lr {cfg.train.lr:g} for "
           f"{cfg.train.epochs} epochs, with and without BN after each hidden linear layer. After epoch 1 the training loss is "
           f"{b[0]['train_loss']:.3f} with BN vs {a[0]['train_loss']:.3f} without; at the end the validation accuracy is "
           f"{b[-1]['val_acc']:.2%} with BN vs {a[-1]['val_acc']:.2%} without "
           f"({'BN ahead' if b[-1]['val_acc'] > a[-1]['val_acc'] else 'BN not ahead'} by {abs(b[-1]['val_acc'] - a[-1]['val_acc']):.2%}).")
    s.figure(p, "Training (per epoch average) and validation loss, with and without BN.", base=run.path)
    x_tr = train[0]
    noise = bp.batch_noise(res["bn"].model, x_tr, batches=cfg.noise_batches, batch=cfg.noise_batch_size, seed=cfg.seed)
    s.text(f"Injected noise: one training image placed in {cfg.noise_batches} random batches of {cfg.noise_batch_size} gets different normalised "
           f"activations each time — their standard deviation is {noise['train_rel_std']:.1%} of the mean |activation| in training "
           f"mode, and {noise['eval_rel_std']:.1%} in evaluation mode (fixed running statistics). That batch-dependent jitter acts "
           "like a mild noise regulariser during training.")
    return s, {"models": {n: r.model for n, r in res.items()}, "fits": {f"MLP {n}": r for n, r in res.items()}, "noise": noise,
               "val_acc": {n: r.history[-1]["val_acc"] for n, r in res.items()}}


def single_class(cfg, run, train, val, shuffled_acc: float | None = None) -> tuple[Section, dict]:
    x, y = train
    torch.manual_seed(cfg.seed)
    model = _mlp(cfg, x[0].numel(), True)
    bp.train_single_class(model, x, y, cfg.single_epochs, cfg.train.lr, cfg.train.batch_size, cfg.seed)
    acc_batch = bp.accuracy_with_batch_stats(model, x, y, bp.single_class_batches(y, cfg.train.batch_size, cfg.seed + 99))
    acc_train_eval = bp.accuracy(model, x, y)
    acc_val_eval = bp.accuracy(model, *val)
    gap = bp.train_test_activation_gap(model, x, y, cfg.train.batch_size, cfg.seed)
    s = Section("Batch norm with single-class mini-batches", level=2)
    txt = (f"The BN MLP trained for {cfg.single_epochs} epoch(s) on batches that each hold one class. Evaluated as in training "
           f"(BN uses the statistics of single-class batches) its training accuracy is {acc_batch:.2%}; with the running "
           f"statistics used at test time it is {acc_train_eval:.2%} on the same images and {acc_val_eval:.2%} on validation")
    txt += f" (the same network trained on shuffled batches: {shuffled_acc:.2%})." if shuffled_acc is not None else "."
    txt += (f" The discrepancy is in the activations themselves: for the same training images, the first BN layer's output "
            f"differs between training mode (own-class batch statistics) and test mode (running statistics over all classes) "
            f"by {gap:.2f} standard deviations on average. ")
    if acc_batch > acc_val_eval + 0.05:
        txt += ("The batch statistics leak the label: the network learned to read the class from the batch, which a test "
                "batch (or the running average over all classes) does not carry.")
    else:
        txt += ("In training mode BN subtracts each batch's mean — here the mean of one class — so exactly the per-class offset "
                "that separates the classes is removed from every feature: the network can learn little, and what it learns "
                "relies on statistics that differ at test time.")
    s.text(txt)
    s.table(["evaluation", "accuracy"], [["train, single-class batch statistics", acc_batch],
                                         ["train, running statistics (eval mode)", acc_train_eval],
                                         ["validation, running statistics", acc_val_eval]])
    return s, {"acc_batch_stats": acc_batch, "acc_train_eval": acc_train_eval, "acc_val_eval": acc_val_eval, "activation_gap": gap}


def conv_bias(cfg, run) -> tuple[Section, dict]:
    r = bp.bias_before_bn(seed=cfg.seed)
    s = Section("A conv bias before batch norm is redundant", level=2)
    s.text(f"Shifting a conv layer's biases by a random vector of norm {r['bias_shift_norm']:.3g} changes the output of the "
           f"following BN (training mode) by at most {r['max_output_change']:.1e}: BN subtracts the batch mean per channel, and "
           f"the bias is part of it. The bias's gradient is {r['bias_grad_norm']:.1e} (vs {r['weight_grad_norm']:.3g} for the "
           "weights): it never learns anything, and BN's own shift β plays its role — so conv layers followed by BN are built "
           "with bias=False.")
    return s, r


def scaling(cfg, run, models, train, val) -> tuple[Section, dict]:
    x_tr, _ = train
    x_va, y_va = val
    rows, out = [], {}
    for name, model in models.items():
        model.eval()
        base_acc = bp.accuracy(model, x_va, y_va)
        for alpha in cfg.alphas:
            for what in ("weights", "inputs"):
                if what == "weights":
                    m2, xa = bp.scale_weights(model, alpha), x_va
                    xs_tr = x_tr
                else:
                    m2, xa = bp.scale_weights(model, 1.0), alpha * x_va
                    xs_tr = alpha * x_tr
                frozen = bp.compare_predictions(model, x_va, m2, xa)
                row = [name, f"{what} × {alpha:g}", base_acc, bp.accuracy(m2, xa, y_va), frozen["changed"], frozen["logit_ratio"]]
                if name == "bn":  # re-estimate BN statistics (what training mode would see), for both networks alike
                    ref = bp.recompute_bn_stats(bp.scale_weights(model, 1.0), x_tr)
                    bp.recompute_bn_stats(m2, xs_tr)
                    re = bp.compare_predictions(ref, x_va, m2, xa)
                    row += [bp.accuracy(m2, xa, y_va), re["changed"], re["logit_ratio"]]
                    out[f"{name}_{what}_{alpha:g}_restat"] = re["changed"]
                else:
                    row += ["", "", ""]
                out[f"{name}_{what}_{alpha:g}"] = frozen["changed"]
                rows.append(row)
    a = max(cfg.alphas, key=lambda v: abs(v - 1))
    s = Section("Scaling weights or inputs by α, with and without BN", level=2)
    s.text(f"Both trained MLPs are evaluated on the validation images after multiplying every weight matrix (biases and BN "
           f"parameters untouched) or the input by α. Without BN, ×{a:g} on the weights changes "
           f"{out[f'plain_weights_{a:g}']:.1%} of the predictions and ×{a:g} on the inputs {out[f'plain_inputs_{a:g}']:.1%}: a ReLU "
           f"is positively homogeneous (relu(αz) = α·relu(z)) but the biases are not scaled, so the decision shifts. With BN and its "
           f"running statistics frozen, the changes are {out[f'bn_weights_{a:g}']:.1%} (weights) and {out[f'bn_inputs_{a:g}']:.1%} "
           f"(inputs): the stored mean/variance no longer match. Once BN re-estimates them (as it does from every training batch; "
           f"compared with the unscaled network given the same re-estimation), the hidden layers are scale-invariant and only {out[f'bn_weights_{a:g}_restat']:.1%} (weights — the last, "
           f"un-normalised layer still scales the logits by α, which moves the decision only where its bias matters) and "
           f"{out[f'bn_inputs_{a:g}_restat']:.1%} (inputs) of the predictions change.")
    s.table(["model", "change", "acc before", "acc after", "pred. changed", "median logit ratio",
             "acc (BN re-estimated)", "changed (re-est.)", "logit ratio (re-est.)"], rows)
    return s, out
