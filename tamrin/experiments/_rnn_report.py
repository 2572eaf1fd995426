"""rnn-sentiment's report: data, hw4.t3 measured, the model comparison, the best model in detail (settings,
architecture, curves, confusion matrices, per-class F1), accuracy by sentence length, the most confident
right and wrong sentences, and the NumPy RNN. Every interpreting sentence comes from a function of the numbers
(tamrin.experiments._rnn_text)."""
from __future__ import annotations

import numpy as np

from tamrin.experiments import _rnn_text as TX
from tamrin.experiments._rnn_figures import length_figure, unroll_figure
from tamrin.experiments._rnn_hw import count_softmax_per_sentence, hw4_t3_measurement, unroll
from tamrin.report import Section
from tamrin.report import figures as figs
from tamrin.report.metrics import classification_metrics
from tamrin.report.standard import describe_model, evaluate_classification, split_table
from tamrin.report.training_report import train_config_settings, training_report

LENGTH_BINS = [(1, 10), (11, 20), (21, 30), (31, 10_000)]


def _bin_name(lo, hi):
    return f"{lo}+" if hi >= 10_000 else f"{lo}-{hi}"


def accuracy_by_length(probs, y, lengths) -> list[dict]:
    pred, y, lengths = np.asarray(probs).argmax(1), np.asarray(y), np.asarray(lengths)
    out = []
    for lo, hi in LENGTH_BINS:
        m = (lengths >= lo) & (lengths <= hi)
        out.append({"bin": _bin_name(lo, hi), "n": int(m.sum()), "acc": float((pred[m] == y[m]).mean()) if m.any() else float("nan")})
    return out


def confident_examples(probs, y, sentences, classes, k: int) -> tuple[list[list], list[list]]:
    probs, y = np.asarray(probs), np.asarray(y)
    pred, conf = probs.argmax(1), probs.max(1)
    rows = {}
    for which, mask in (("right", pred == y), ("wrong", pred != y)):
        idx = np.flatnonzero(mask)
        idx = idx[np.argsort(-conf[idx], kind="stable")][:k]
        rows[which] = [[" ".join(sentences[i]), classes[y[i]], classes[pred[i]], float(conf[i])] for i in idx]
    return rows["right"], rows["wrong"]


def _summaries(cfg, prep, results, numpy_res) -> list[dict]:
    out = []
    for r in results + [numpy_res]:
        spec = r.get("spec")
        s = {"model": spec.name if spec else f"numpy-{cfg.numpy_cell}", "description": spec.label if spec else
             f"from-scratch NumPy {cfg.numpy_cell.upper()} (tamrin.scratch), last hidden state",
             "level": spec.level if spec else "sentence", "params": int(sum(p.numel() for p in r["model"].parameters())) if spec else r["params"],
             "train_examples": r["train_examples"], "epochs": len(r["history"]), "steps": r["steps"], "best_epoch": r["best_epoch"],
             "train_seconds": r["seconds"]}
        for split, p in r["probs"].items():
            pred = p.argmax(1)
            s[f"{split}_acc"] = float((pred == prep.y[split].numpy()).mean())
            s[f"{split}_macro_f1"] = classification_metrics(prep.y[split].numpy(), pred, None, cfg.classes)["macro_f1"]
        out.append(s)
    return out


def report(cfg, run, prep, results, numpy_res) -> list[Section]:
    classes = cfg.classes
    splits = list(prep.x)
    rows = _summaries(cfg, prep, results, numpy_res)
    torch_rows = rows[:-1]
    best_i = max(range(len(torch_rows)), key=lambda i: (torch_rows[i]["dev_acc"], -i))
    best, best_row = results[best_i], torch_rows[best_i]
    secs = []

    # ---------------------------------------------------------------- data
    s = Section("Sentence sentiment with recurrent networks (SST-5)")
    tr = prep.splits["train"]
    lens = prep.lengths["train"].numpy()
    s.text(f"Data: {tr.source} and {prep.splits['dev'].source}" + (f" and {prep.splits['test'].source}" if "test" in prep.splits else
           " (no test file next to them: every model is selected and reported on dev)") +
           f". {len(tr.examples):,} training sentences" + (f" (a stratified {cfg.train_fraction:.0%} of the {prep.train_file_size:,} in the file)"
                                                           if cfg.train_fraction < 1 else "") +
           f" with {len(prep.phrase_y):,} distinct labelled phrases (every node of their trees, the sentences included); "
           f"{len(prep.splits['dev'].examples):,} dev sentences. Training sentences have {lens.mean():.1f} words on average "
           f"(at most {lens.max()}). Vocabulary: the {len(prep.vocab) - 2:,} training words seen at least {cfg.min_count} "
           f"time(s), plus <pad> and <unk>; {prep.vocab.unknown_rate([e.tokens for e in prep.splits['dev'].examples]):.2%} "
           f"of the dev words are unknown. Embeddings are randomly initialised (no pretrained vectors).")
    skipped = [[sp.source, reason, n] for sp in prep.splits.values() for reason, n in sp.skipped.most_common()]
    if skipped:
        s.table(["file", "reason", "lines skipped"], skipped, "Lines that could not be used.")
    lab = {f"{k} sentences": prep.y[k].numpy() for k in splits}
    lab["train phrases"] = prep.phrase_y.numpy()
    s.table(*split_table(lab, classes), "Samples per class in each split (sentence label = the root's; phrases = every node).")
    secs.append(s)

    # ---------------------------------------------------------------- hw4.t3 measured
    secs += _hw4_sections(cfg, run, prep, results, rows)

    # ---------------------------------------------------------------- comparison
    c = Section("Model comparison (selected on dev)")
    cols = ["model", "trained on", "parameters", "epochs", "optimizer steps", "best epoch", "train acc", "dev acc", "dev macro-F1"]
    cols += ["test acc"] if "test" in splits else []
    cols += ["training time (s)"]
    c.table(cols, [[r["model"], f"{r['train_examples']:,} {r['level']}s", r["params"], r["epochs"], r["steps"], r["best_epoch"],
                    r["train_acc"], r["dev_acc"], r["dev_macro_f1"]] + ([r["test_acc"]] if "test" in splits else []) +
                   [round(r["train_seconds"], 1)] for r in rows],
            "Train accuracy on the training sentences (phrase-level models are scored on the sentences too; their training curves "
            "are over phrases); dev accuracy of the epoch kept (the best on dev). The last row is the NumPy RNN.")
    c.text(TX.target_sentence(best_row["model"], best_row["dev_acc"], 0.42))
    for line in TX.comparisons({r["model"]: r["dev_acc"] for r in torch_rows}):
        c.text(line)
    p = run.save_figure(figs.bar([r["model"] for r in rows], [r["dev_acc"] for r in rows], "dev accuracy per model", "accuracy",
                                 fmt="{:.3f}"), "rnn_dev_accuracy")
    c.figure(p, "Dev accuracy of every model (the epoch kept).", base=run.path)
    series = {r["spec"].name: [h.get("val_acc") for h in r["history"]] for r in results}
    longest = max(len(v) for v in series.values())
    p = run.save_figure(figs.lines(list(range(1, longest + 1)), series,
                                   "dev accuracy per epoch", "epoch", "accuracy"), "rnn_dev_curves")
    c.figure(p, "Dev accuracy after every epoch, all PyTorch models.", base=run.path)
    secs.append(c)

    # ---------------------------------------------------------------- best model in detail
    bm = best["model"]
    tc = best["tcfg"]
    preprocessing = (f"PTB leaves lower-cased, escapes undone (-LRB- → '('); words seen < {cfg.min_count} times → <unk>; "
                     f"right padding with length-bucketed batches, packed sequences (padding never enters the RNN)")
    settings = train_config_settings(
        tc, loss="cross-entropy over the classes (mean over the batch)", steps=best_row["steps"], epochs=best_row["epochs"],
        preprocessing=preprocessing, augmentation="none",
        extra={"trained on": f"{best_row['train_examples']:,} {best_row['level']}s", "dropout": f"{cfg.dropout:g}",
               "embedding / hidden size": f"{cfg.embed_dim} / {cfg.hidden_dim}"})
    # the sentence-level splits; a phrase-level model's curves are over phrases, its matrices over sentences
    std_splits = {k: (prep.y[k].numpy(), best["probs"][k]) for k in splits}
    secs += training_report(run, "rnn_best", history=best["history"], best_epoch=best["best_epoch"], splits=std_splits,
                            classes=classes, settings=settings, model=bm, example_input=prep.x["dev"][:2],
                            title=f"Best model: {best_row['model']} ({best['spec'].label})")
    for k in splits:
        _, ss = evaluate_classification(run, k, prep.y[k].numpy(), best["probs"][k], classes, title=f"{best_row['model']} on {k}",
                                        level=2, roc_curve=False, confusion_matrix=False)
        secs += ss
    # every PyTorch model, small multiples: curves and confusion matrices side by side
    per = {"optimizer": "; ".join(f"{r['spec'].name}: {r['tcfg'].optimizer} lr={r['tcfg'].lr:g} wd={r['tcfg'].weight_decay:g}" for r in results),
           "optimizer steps": "; ".join(f"{row['model']}: {row['steps']:,}" for row in torch_rows),
           "epochs": "; ".join(f"{row['model']}: {row['epochs']}" for row in torch_rows),
           "batch size": "; ".join(f"{r['spec'].name}: {r['tcfg'].batch_size}" for r in results)}
    all_settings = {"loss function": "cross-entropy over the classes (mean over the batch), every model", **per,
                    "learning-rate schedule": "; ".join(sorted({f"{r['tcfg'].schedule} per optimizer step" for r in results})),
                    "preprocessing": preprocessing, "augmentation": "none"}
    secs += training_report(run, "rnn_all", members={r["spec"].name: {"history": r["history"], "best_epoch": r["best_epoch"],
                                                                     "splits": {k: (prep.y[k].numpy(), r["probs"][k]) for k in splits}}
                                                    for r in results},
                            classes=classes, settings=all_settings, title="Every PyTorch model: curves and confusion matrices")

    # ---------------------------------------------------------------- by length, examples
    L = Section("Accuracy by sentence length (dev)")
    bylen = {r["model"]: accuracy_by_length(p["probs"]["dev"], prep.y["dev"], prep.lengths["dev"]) for r, p in zip(rows, results + [numpy_res])}
    L.table(["model"] + [f"{b['bin']} words (n={b['n']})" for b in bylen[best_row["model"]]],
            [[m] + [b["acc"] for b in v] for m, v in bylen.items()], "Dev accuracy per length bin.")
    L.text(TX.length_sentence(best_row["model"], bylen[best_row["model"]]))
    p = run.save_figure(length_figure(bylen), "rnn_accuracy_by_length")
    L.figure(p, "Dev accuracy by sentence length.", base=run.path)
    secs.append(L)
    E = Section(f"Most confident dev predictions of {best_row['model']}")
    right, wrong = confident_examples(best["probs"]["dev"], prep.y["dev"].numpy(), [e.tokens for e in prep.splits["dev"].examples],
                                      classes, cfg.examples_shown)
    E.table(["sentence", "true", "predicted", "confidence"], right, "Correct, highest softmax probability first.")
    E.table(["sentence", "true", "predicted", "confidence"], wrong, "Wrong, highest softmax probability first.")
    secs.append(E)

    # ---------------------------------------------------------------- every model's settings and architecture
    A = Section("Settings and architectures of every model")
    A.table(["model", "optimizer", "lr", "weight decay", "schedule", "batch size", "epochs", "optimizer steps", "grad clip"],
            [[row["model"], r["tcfg"].optimizer, r["tcfg"].lr, r["tcfg"].weight_decay, r["tcfg"].schedule, r["tcfg"].batch_size,
              row["epochs"], row["steps"], r["tcfg"].grad_clip or "off"] for r, row in zip(results, torch_rows)] +
            [[rows[-1]["model"], "adam (tamrin.scratch.optim)", cfg.numpy_lr, 0.0, "none", cfg.numpy_batch_size, rows[-1]["epochs"],
              rows[-1]["steps"], cfg.numpy_grad_clip]], "Loss: cross-entropy for every model; selection: best dev accuracy.")
    for r in results:
        A.table(*describe_model(r["model"], prep.x["dev"][:2]), f"{r['spec'].name}: layers and parameter counts.")
    secs.append(A)
    secs.append(_numpy_section(cfg, run, numpy_res, rows[-1]))
    run.write_json("results.json", {"models": rows, "best": best_row["model"], "by_length": bylen})
    return secs


def _hw4_sections(cfg, run, prep, results, rows) -> list[Section]:
    h = Section("hw4.t3 measured: how an RNN classifies an n-word sentence at test time")
    tiny = hw4_t3_measurement(cfg.seed)
    h.text(TX.hw4_sentence(tiny["n_words"], tiny["softmax_calls_many_to_one"], tiny["softmax_calls_tagger"], tiny["n_classes"],
                           tiny["prob_sums"], f"a tiny untrained vanilla RNN on “{tiny['sentence']}”"))
    h.table(["inputs at each step (recorded by a forward pre-hook on the recurrent layer)"], [[x] for x in tiny["inputs_per_step"]])
    h.table(["part", "question", "measured answer"], [
        ["hw4.t3a", "outputs / softmax calls at test time", f"{tiny['softmax_calls_many_to_one']} for the {tiny['n_words']}-word sentence "
                                                             f"(a tagger: {tiny['softmax_calls_tagger']})"],
        ["hw4.t3b", "what ŷ is a distribution over", f"the {tiny['n_classes']} sentiment classes 0..{tiny['n_classes'] - 1} "
                                                     f"(sum {tiny['prob_sums'][0]:.6f})"],
        ["hw4.t3c", "inputs at time step t", ("x_t = embedding(word t) and h_(t-1) (h_0 = 0)" if _textbook_inputs(tiny["inputs_per_step"])
                                              else "not the textbook pair (see the table above)") +
         f"; {len(tiny['inputs_per_step'])} steps recorded"]],
        "hw4.t3 in one table, every entry from the hooks above.")
    one_way = [(r, row) for r, row in zip(results, rows) if r["spec"].kind in ("rnn", "lstm", "gru") and r["spec"].pool == "last"]
    if one_way:
        r, row = max(one_way, key=lambda t: t[1]["dev_acc"])
        dev = prep.splits["dev"].examples
        k = next((i for i, e in enumerate(dev) if 6 <= len(e.tokens) <= 12), 0)
        ids = prep.x["dev"][k, : int(prep.lengths["dev"][k])].tolist()
        u = unroll(r["model"], ids, prep.vocab.itos)
        cnt = count_softmax_per_sentence(r["model"], prep.x["dev"])
        h.text(TX.hw4_sentence(u["rnn_calls"], u["softmax_calls_many_to_one"], u["softmax_calls_tagger"], u["n_classes"], u["prob_sums"],
                               f"the trained {r['spec'].name} on dev sentence {k + 1} (“{' '.join(e for e in dev[k].tokens)}”, "
                               f"true class {cfg.classes[dev[k].label]})"))
        h.text(f"Over the whole dev set, the hook on the softmax module saw {cnt['softmax_module_calls']} batched call(s) producing "
               f"{cnt['distributions']:,} distributions for {cnt['sentences']:,} sentences: {cnt['distributions_per_sentence']:g} per sentence, "
               f"each over {cnt['n_classes']} classes, every sum within {cnt['max_abs_sum_minus_1']:.1e} of 1. The step-by-step unrolled "
               f"prediction equals the packed batch path to {u['packed_vs_unrolled_max_diff']:.1e}.")
        h.table(["t", "word", "input x_t", "previous state", "‖h_{t-1}‖", "‖h_t‖"],
                [[st["t"], st["word"], st["x_t"], st["h_prev"], st["h_prev_norm"], st["h_norm"]] for st in u["steps"]])
        h.table(["class", "ŷ (many-to-one, after the last word)"], [[c, p] for c, p in zip(cfg.classes, u["probs"])] +
                [["sum", float(sum(u["probs"]))]])
        p = run.save_figure(unroll_figure(u, cfg.classes, r["spec"].name), "rnn_unrolled")
        h.figure(p, "One dev sentence unrolled: at step t the layer takes x_t = embedding(word t) and h_{t-1}; the hidden state's "
                    "norm per step; the single softmax after the last word (left) vs a tagger's softmax at every step (right).",
                 base=run.path)
        run.write_json("hw4_t3.json", {"tiny": {k: v for k, v in tiny.items()}, "trained_model": r["spec"].name, "unrolled": u,
                                        "dev_count": cnt})
    else:
        run.write_json("hw4_t3.json", {"tiny": tiny})
    return [h]


def _textbook_inputs(steps: list[str]) -> bool:
    """Every recorded step t took the embedding of word t and the previous step's output (h_0 = 0 first)."""
    return bool(steps) and all(f"x_{t} = embedding(" in st and (f"h_{t - 1} (the output of step {t - 1})" in st if t > 1 else "h_0 = 0" in st)
                               for t, st in enumerate(steps, 1))


def _numpy_section(cfg, run, res, row) -> Section:
    s = Section("The NumPy RNN (tamrin.scratch, no PyTorch)")
    s.text(f"A {cfg.numpy_cell.upper()} with {cfg.numpy_embed_dim}-dimensional embeddings and {cfg.numpy_hidden_dim} hidden units, "
           f"written with the forward/backward functions of tamrin/scratch/rnn.py (backpropagation through time, masking of padded "
           f"steps), trained with Adam and gradient clipping at {cfg.numpy_grad_clip:g} on {res['train_examples']:,} training sentences "
           f"for {row['epochs']} epoch(s) ({row['steps']} steps): dev accuracy {row['dev_acc']:.4f} (epoch {row['best_epoch']} kept), "
           f"{row['train_seconds']:.1f} s. Its gradients are checked numerically and against torch.nn.RNN/LSTM/GRU in tests/test_rnn_scratch.py.")
    s.text(TX.numpy_sentence(row["dev_acc"], row["train_acc"], cfg.n_classes))
    p = run.save_figure(figs.curves(res["history"], "NumPy RNN"), "rnn_numpy_curves")
    s.figure(p, "NumPy RNN: loss and accuracy per epoch, training (solid) vs dev (dashed).", base=run.path)
    return s
