"""rnn-sentiment's data preparation and training: PyTorch models through tamrin.train.fit (checkpoints, resume,
best epoch on dev) with length-bucketed batches, and the NumPy RNN from tamrin.scratch with its own
per-epoch checkpoint so a killed run resumes to the same numbers."""
from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from tamrin.data import stratified_split
from tamrin.data.sst import Split, Vocab, bucket_batches, encode, load_sentiment
from tamrin.experiments._rnn_models import ModelSpec, build_model
from tamrin.runs import atomic_write_bytes
from tamrin.scratch import optim
from tamrin.scratch.rnn_classifier import RNNClassifier
from tamrin.train import fit


@dataclass
class Prepared:
    splits: dict  # name -> Split (train possibly a fraction of the file)
    vocab: Vocab
    x: dict = field(default_factory=dict)  # name -> (N, T) int64 ids, 0 = padding
    lengths: dict = field(default_factory=dict)
    y: dict = field(default_factory=dict)
    phrase_x: torch.Tensor | None = None
    phrase_len: torch.Tensor | None = None
    phrase_y: torch.Tensor | None = None
    train_file_size: int = 0


def prepare(cfg) -> Prepared:
    splits = load_sentiment(cfg.data_dir, cfg.n_classes, seed=cfg.seed)
    tr = splits["train"]
    n_file = len(tr.examples)
    if cfg.train_fraction < 1.0:  # a stratified fraction of the training trees (the quick and smoke presets)
        keep, _ = stratified_split(tr.labels, 1 - cfg.train_fraction, cfg.seed)
        splits["train"] = Split("train", [tr.examples[i] for i in sorted(keep)], tr.source, tr.skipped)
    vocab = Vocab([e.tokens for e in splits["train"].examples], cfg.min_count)
    p = Prepared(splits, vocab, train_file_size=n_file)
    for name, s in splits.items():
        p.x[name], p.lengths[name] = encode(vocab, [e.tokens for e in s.examples], cfg.max_len)
        p.y[name] = torch.from_numpy(s.labels)
    # every labelled phrase of the training trees once (Socher et al. 2013 train on all of them); a TSV
    # sentence is its own only phrase
    phrases: dict[tuple, int] = {}
    for e in splits["train"].examples:
        for toks, lab in e.phrases:
            phrases.setdefault(toks, lab)
    p.phrase_x, p.phrase_len = encode(vocab, list(phrases), cfg.max_len)
    p.phrase_y = torch.tensor(list(phrases.values()), dtype=torch.long)
    return p


def train_config(cfg, spec: ModelSpec):
    if spec.kind == "bow":
        return cfg.bow_train
    return cfg.phrase_train if spec.level == "phrase" else cfg.train


def tag_of(spec: ModelSpec) -> str:
    return spec.name.replace("@", "_")


@torch.no_grad()
def predict_probs(model, x: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    model.eval()
    return torch.cat([model.predict_proba(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]).numpy() \
        if len(x) else np.zeros((0, 1))


def train_torch(spec: ModelSpec, prep: Prepared, cfg, run) -> dict:
    tcfg = train_config(cfg, spec)
    if spec.level == "phrase":
        x, lengths, y = prep.phrase_x, prep.phrase_len, prep.phrase_y
    else:
        x, lengths, y = prep.x["train"], prep.lengths["train"], prep.y["train"]
    torch.manual_seed(cfg.seed)
    model = build_model(spec, len(prep.vocab), cfg.n_classes, cfg.embed_dim, cfg.hidden_dim, cfg.dropout, cfg.embed_dropout)
    batches = lambda epoch: bucket_batches(lengths, tcfg.batch_size, cfg.seed, epoch)  # noqa: E731
    steps_per_epoch = len(batches(1))
    if tcfg.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, tcfg.max_steps_per_epoch)
    res = fit(model, (x, y), (prep.x["dev"], prep.y["dev"]), tcfg, run, tag=tag_of(spec), seed=cfg.seed, batches=batches,
              checkpoint_meta={"vocab": prep.vocab.itos, "model_name": spec.name})
    probs = {name: predict_probs(res.model, prep.x[name]) for name in prep.x}
    return {"spec": spec, "model": res.model, "history": res.history, "best_epoch": res.best_epoch,
            "seconds": res.seconds, "epochs_run": len(res.history), "steps": len(res.history) * steps_per_epoch,
            "train_examples": len(y), "probs": probs, "tcfg": tcfg}


# ------------------------------------------------------------------------------------------ NumPy RNN
def _global_clip(grads: dict, max_norm: float) -> float:
    norm = float(np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads.values())))
    if max_norm > 0 and norm > max_norm:
        for k in grads:
            grads[k] *= max_norm / norm
    return norm


def _numpy_scores(net, x: torch.Tensor, lengths: torch.Tensor, batch: int = 256) -> np.ndarray:
    out = []
    for i in range(0, len(x), batch):
        ln = lengths[i:i + batch].numpy()
        out.append(net.loss(x[i:i + batch, : int(ln.max())].numpy(), ln))
    return np.concatenate(out)


def softmax_np(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def train_numpy(prep: Prepared, cfg, run) -> dict:
    """The from-scratch RNN (tamrin.scratch, NumPy only) on a fraction of the training sentences, Adam + clipping;
    the best epoch on dev is kept. Checkpointed each epoch (pickle of plain arrays) for --resume."""
    tag = "numpy_rnn"
    n = min(cfg.numpy_train_limit or len(prep.y["train"]), len(prep.y["train"]))
    rng = np.random.default_rng(cfg.seed)
    sel = np.sort(rng.permutation(len(prep.y["train"]))[:n])
    x, lengths, y = prep.x["train"][sel], prep.lengths["train"][sel], prep.y["train"][sel].numpy()
    net = RNNClassifier(len(prep.vocab), cfg.n_classes, cfg.numpy_embed_dim, cfg.numpy_hidden_dim, cfg.numpy_cell,
                        "last", seed=cfg.seed, dtype=np.float32)
    configs = {k: {"learning_rate": cfg.numpy_lr} for k in net.params}
    state = {"epoch": 0, "history": [], "best_acc": -1.0, "best_epoch": 0, "best_params": None, "seconds": 0.0}
    ckpt = run.checkpoints_dir / f"{tag}.pkl"
    if ckpt.exists():
        saved = pickle.loads(ckpt.read_bytes())
        net.params, configs, state = saved["params"], saved["configs"], saved["state"]
        run.truncate_metrics(lambda r: not (r.get("tag") == tag and r.get("epoch", 0) > state["epoch"]))
    else:
        run.truncate_metrics(lambda r: r.get("tag") != tag)
    for epoch in range(state["epoch"] + 1, cfg.numpy_epochs + 1):
        t0 = time.perf_counter()
        loss_sum, correct, norms = 0.0, 0, []
        for idx in bucket_batches(lengths, cfg.numpy_batch_size, cfg.seed, epoch):
            ln = lengths[idx].numpy()
            xb, yb = x[idx, : int(ln.max())].numpy(), y[idx.numpy()]
            loss, grads = net.loss(xb, ln, yb)
            norms.append(_global_clip(grads, cfg.numpy_grad_clip))
            for k in net.params:
                net.params[k], configs[k] = optim.adam(net.params[k], grads[k].astype(net.params[k].dtype), configs[k])
            loss_sum += float(loss) * len(yb)
        train_scores = _numpy_scores(net, x, lengths)
        dev_scores = _numpy_scores(net, prep.x["dev"], prep.lengths["dev"])
        dev_y = prep.y["dev"].numpy()
        rec = {"tag": tag, "epoch": epoch, "train_loss": loss_sum / len(y), "train_acc": float((train_scores.argmax(1) == y).mean()),
               "val_loss": float(-np.log(softmax_np(dev_scores)[np.arange(len(dev_y)), dev_y] + 1e-12).mean()),
               "val_acc": float((dev_scores.argmax(1) == dev_y).mean()), "grad_norm_median": float(np.median(norms)),
               "seconds": time.perf_counter() - t0}
        state["seconds"] += rec["seconds"]
        state["history"].append(rec)
        if rec["val_acc"] > state["best_acc"]:
            state.update(best_acc=rec["val_acc"], best_epoch=epoch, best_params={k: v.copy() for k, v in net.params.items()})
        state["epoch"] = epoch
        # log first, then checkpoint (as fit does): a kill in between leaves a record newer than the checkpoint,
        # which the resume truncates and redoes
        run.log(rec)
        atomic_write_bytes(ckpt, pickle.dumps({"params": net.params, "configs": configs, "state": state}))
        run.info(f"  {tag} epoch {epoch}: train loss {rec['train_loss']:.4f} | dev acc {rec['val_acc']:.4f}")
    if state["best_params"] is not None:
        net.params = state["best_params"]
    probs = {name: softmax_np(_numpy_scores(net, prep.x[name], prep.lengths[name])) for name in prep.x}
    return {"net": net, "history": state["history"], "best_epoch": state["best_epoch"], "seconds": state["seconds"],
            "train_examples": n, "probs": probs, "params": int(sum(p.size for p in net.params.values())),
            "steps": state["epoch"] * len(bucket_batches(lengths, cfg.numpy_batch_size, cfg.seed, 1))}
