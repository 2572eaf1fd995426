"""`Solver`: trains a `tamrin.scratch` model with mini-batch gradient descent (CS231n-style).

The model only needs `params` (dict name -> ndarray) and `loss(X, y) -> (loss, grads)`, and
`loss(X) -> scores` for prediction. The solver owns the optimisation: it shuffles the training set
every epoch, calls the update rule from `tamrin.scratch.optim` for every parameter (each parameter
keeps its own optimizer state, e.g. Adam moments), decays the learning rate after each epoch and
keeps the parameters with the best validation accuracy (early-stopping-style model selection).

    solver = Solver(model, {"X_train": X, "y_train": y, "X_val": Xv, "y_val": yv},
                    update_rule="adam", optim_config={"learning_rate": 1e-3}, num_epochs=10)
    solver.train()
    model.params = solver.best_params  # already done at the end of train()
"""
from __future__ import annotations

import copy
import io
import json
import sys
import time
from typing import Callable

import numpy as np

from tamrin.errors import UserError

__all__ = ["Solver"]

_RULES = ("sgd", "sgd_momentum", "rmsprop", "adagrad", "adam")


class Solver:
    def __init__(self, model, data: dict, update_rule: str | Callable = "sgd", optim_config: dict | None = None,
                 lr_decay: float = 1.0, batch_size: int = 100, num_epochs: int = 10, print_every: int = 100,
                 verbose: bool = True, seed: int = 0, num_train_samples: int | None = 1000,
                 num_val_samples: int | None = None, epoch_callback: Callable | None = None,
                 augment: Callable | None = None):
        """
        data: dict with X_train, y_train, X_val, y_val (numpy arrays).
        update_rule: a name in tamrin.scratch.optim (sgd, sgd_momentum, rmsprop, adagrad, adam) or a function.
        optim_config: hyper-parameters passed to the update rule (learning_rate, momentum, ...).
        lr_decay: the learning rate is multiplied by this after every epoch.
        num_train_samples: training accuracy is measured on this many random training samples
            (None = all), since measuring on all of them every epoch can cost as much as the epoch.
        epoch_callback: called as f(solver, record) after every epoch (e.g. to log metrics).
        augment: optional f(X_batch, rng) -> X_batch applied to every training batch (data augmentation).
        """
        missing = [k for k in ("X_train", "y_train", "X_val", "y_val") if k not in data]
        if missing:
            raise UserError(f"Solver data is missing {', '.join(missing)} (needs X_train, y_train, X_val, y_val)")
        if batch_size < 1 or num_epochs < 0:
            raise UserError("Solver: batch_size must be >= 1 and num_epochs >= 0")
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        if callable(update_rule):
            self.update_rule, self.update_name = update_rule, getattr(update_rule, "__name__", "custom")
        else:
            from tamrin.scratch import optim

            if update_rule not in _RULES or not hasattr(optim, update_rule):
                raise UserError(f"unknown update rule {update_rule!r}; choose one of: {', '.join(_RULES)}")
            self.update_rule, self.update_name = getattr(optim, update_rule), update_rule
        self.optim_config = dict(optim_config or {})
        self.lr_decay = float(lr_decay)
        self.batch_size = int(batch_size)
        self.num_epochs = int(num_epochs)
        self.print_every = int(print_every)
        self.verbose = verbose
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.epoch_callback = epoch_callback
        self.augment = augment
        self.rng = np.random.default_rng(seed)
        self._reset()

    def _reset(self) -> None:
        self.epoch = 0
        self.best_val_acc = -1.0
        self.best_epoch = 0
        self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        self.best_bn = _bn_state(self.model)
        # where training stands (train() swaps the best parameters into the model when it ends)
        self.train_params: dict[str, np.ndarray] | None = None
        self.train_bn: list[dict] | None = None
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.epoch_seconds: list[float] = []
        # each parameter gets its own copy of the optimizer config (it carries per-parameter state)
        self.optim_configs = {p: copy.deepcopy(self.optim_config) for p in self.model.params}

    # --- training -----------------------------------------------------------------------------
    def _step(self, X_batch: np.ndarray, y_batch: np.ndarray) -> float:
        loss, grads = self.model.loss(X_batch, y_batch)
        for name, w in self.model.params.items():
            new_w, self.optim_configs[name] = self.update_rule(w, grads[name], self.optim_configs[name])
            # keep the model's dtype: a float64 scalar in an update rule must not silently turn a
            # float32 model into a (twice as slow) float64 one
            self.model.params[name] = new_w.astype(w.dtype, copy=False)
        return float(loss)

    def check_accuracy(self, X: np.ndarray, y: np.ndarray, num_samples: int | None = None, batch_size: int = 1000) -> float:
        """Fraction of correct predictions (on a random subset of `num_samples` if given)."""
        if num_samples is not None and len(X) > num_samples:
            idx = self.rng.choice(len(X), num_samples, replace=False)
            X, y = X[idx], y[idx]
        return float(np.mean(self.predict(X, batch_size) == y))

    def predict(self, X: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        out = [np.argmax(self.model.loss(X[i:i + batch_size]), axis=1) for i in range(0, len(X), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def train(self) -> "Solver":
        """Run the remaining epochs (continues after `load`), then load the best parameters into the model."""
        from tqdm.auto import tqdm

        n = len(self.X_train)
        iters_per_epoch = max(n // self.batch_size, 1)
        show_bar = self.verbose and sys.stderr.isatty()
        it = len(self.loss_history)
        if self.train_params is not None:  # continue from the last state, not from the best one
            self.model.params = {k: v.copy() for k, v in self.train_params.items()}
            _set_bn_state(self.model, self.train_bn)
            self.train_params = self.train_bn = None  # the model holds the training state again
        for _ in range(self.epoch, self.num_epochs):
            t0 = time.perf_counter()
            order = self.rng.permutation(n)
            bar = tqdm(range(iters_per_epoch), desc=f"epoch {self.epoch + 1}/{self.num_epochs}",
                       disable=not show_bar, leave=False)
            for i in bar:
                idx = order[i * self.batch_size:(i + 1) * self.batch_size]
                X_batch = self.X_train[idx]
                if self.augment is not None:
                    X_batch = self.augment(X_batch, self.rng)
                loss = self._step(X_batch, self.y_train[idx])
                if not np.isfinite(loss):
                    raise FloatingPointError(f"loss became {loss} at iteration {it}; lower the learning rate")
                self.loss_history.append(loss)
                if self.verbose and not show_bar and self.print_every and it % self.print_every == 0:
                    print(f"(iteration {it}) loss {loss:.4f}", file=sys.stderr)
                it += 1
            self.epoch += 1
            for cfg in self.optim_configs.values():  # learning-rate decay once per epoch
                if "learning_rate" in cfg:
                    cfg["learning_rate"] *= self.lr_decay
            self.epoch_seconds.append(time.perf_counter() - t0)
            train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
            val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
            self.train_acc_history.append(train_acc)
            self.val_acc_history.append(val_acc)
            if val_acc > self.best_val_acc:  # model selection on validation accuracy only
                self.best_val_acc, self.best_epoch = val_acc, self.epoch
                self.best_params = {k: v.copy() for k, v in self.model.params.items()}
                self.best_bn = _bn_state(self.model)
            record = {"epoch": self.epoch, "loss": float(np.mean(self.loss_history[-iters_per_epoch:])),
                      "train_acc": train_acc, "val_acc": val_acc, "seconds": self.epoch_seconds[-1]}
            if self.verbose:
                print(f"(epoch {self.epoch}/{self.num_epochs}) loss {record['loss']:.4f} "
                      f"train acc {train_acc:.3f} val acc {val_acc:.3f}", file=sys.stderr)
            if self.epoch_callback is not None:
                self.epoch_callback(self, record)
        self.train_params = {k: v.copy() for k, v in self.model.params.items()}
        self.train_bn = _bn_state(self.model)
        self.model.params = {k: v.copy() for k, v in self.best_params.items()}
        _set_bn_state(self.model, self.best_bn)
        return self

    # --- persistence ----------------------------------------------------------------------------
    def save(self, path) -> None:
        """Save parameters, best parameters, optimizer state and histories to one .npz (atomic)."""
        from tamrin.runs import atomic_write_bytes

        arrays: dict[str, np.ndarray] = {}
        scalars: dict[str, dict] = {}
        for k, v in (self.train_params or self.model.params).items():
            arrays[f"param/{k}"] = v
        for k, v in self.best_params.items():
            arrays[f"best/{k}"] = v
        for p, cfg in self.optim_configs.items():
            scalars[p] = {}
            for ck, cv in cfg.items():
                if isinstance(cv, np.ndarray):
                    arrays[f"optim/{p}/{ck}"] = cv
                else:
                    scalars[p][ck] = cv
        for k in ("loss_history", "train_acc_history", "val_acc_history", "epoch_seconds"):
            arrays[k] = np.asarray(getattr(self, k), dtype=np.float64)
        # batch-norm running statistics are state too, although gradient descent does not train them
        for tag, state in (("bn", self.train_bn or _bn_state(self.model)), ("bestbn", self.best_bn)):
            for i, bn in enumerate(state):
                for ck, v in bn.items():
                    arrays[f"{tag}/{i}/{ck}"] = v
        meta = {"epoch": self.epoch, "best_val_acc": self.best_val_acc, "best_epoch": self.best_epoch,
                "update_rule": self.update_name, "optim_scalars": scalars,
                "rng": self.rng.bit_generator.state}
        arrays["meta_json"] = np.frombuffer(json.dumps(meta, default=float).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())

    def load(self, path) -> "Solver":
        """Restore the state written by `save`; `train()` then continues from the saved epoch."""
        with np.load(path) as f:
            data = {k: f[k] for k in f.files}
        meta = json.loads(bytes(data.pop("meta_json")).decode())
        self.train_params = {k[6:]: v for k, v in data.items() if k.startswith("param/")}
        self.train_bn = [dict() for _ in getattr(self.model, "bn_params", [])]
        self.best_bn = [dict() for _ in getattr(self.model, "bn_params", [])]
        self.best_params = {k[5:]: v for k, v in data.items() if k.startswith("best/")}
        self.optim_configs = {p: dict(s) for p, s in meta["optim_scalars"].items()}
        for k, v in data.items():
            if k.startswith("optim/"):
                _, p, ck = k.split("/", 2)
                self.optim_configs[p][ck] = v
            elif k.startswith("bn/") or k.startswith("bestbn/"):
                tag, i, ck = k.split("/", 2)
                (self.train_bn if tag == "bn" else self.best_bn)[int(i)][ck] = v
        for k in ("loss_history", "train_acc_history", "val_acc_history", "epoch_seconds"):
            setattr(self, k, [float(x) for x in data[k]])
        self.epoch, self.best_val_acc, self.best_epoch = meta["epoch"], meta["best_val_acc"], meta["best_epoch"]
        self.rng.bit_generator.state = meta["rng"]
        # ready to predict with the best parameters; train() resumes from train_params
        self.model.params = {k: v.copy() for k, v in self.best_params.items()}
        _set_bn_state(self.model, self.best_bn)
        return self


def _bn_state(model) -> list[dict]:
    """Copies of the batch-norm running statistics of `model` (empty list when it has none)."""
    return [{k: v.copy() for k, v in bn.items() if k.startswith("running_")} for bn in getattr(model, "bn_params", [])]


def _set_bn_state(model, state) -> None:
    for bn, saved in zip(getattr(model, "bn_params", []), state or []):
        bn.update({k: v.copy() for k, v in saved.items()})
