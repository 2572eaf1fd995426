"""Benchmark: tamrin's supervised Forward-Forward epoch next to loeweX/Forward-Forward's, in ONE process.

    PYTHONPATH=. python benchmarks/ff_peers.py --loewex /path/to/loeweX/Forward-Forward   # a checkout or a bare git dir
    PYTHONPATH=. python benchmarks/ff_peers.py --loewex ... --epochs 5 --rounds 1          # a quick look

The peer's code is read at run time from the path given (its src/ff_model.py, unchanged) and never copied into
tamrin. Its src/utils.py imports torchvision and hydra, which do not work here, so the two functions ff_model.py
uses from it (get_accuracy and the training loop's log_results) are given by the shim below, line for line.
Its DataLoader (4 workers building one sample at a time) is replaced by whole-epoch tensors built BEFORE the timed
part with the same rule (true one-hot in the first 10 pixels for positives, a random wrong one for negatives,
0.1 everywhere for the neutral sample): that can only make the peer look faster. tamrin's epoch is its library
loop (tamrin.ff.train_supervised), negatives drawn inside the timed part.

Both at equal widths (3 x 500, the ff-supervised default), one torch thread, the 2,707 / 302 / 10,000 MNIST split of
ff-supervised; rounds alternate tamrin / peer so that machine noise hits both. Results: benchmarks/results/ff.json
gains "sec_per_epoch" (median over epochs after the first, per system) and "peers"; benchmarks/ff_peers.md.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from tamrin.runs import Run, atomic_write_json, atomic_write_text, environment  # noqa: E402

SHIM = '''
import torch

def get_accuracy(opt, output, target):
    with torch.no_grad():
        prediction = torch.argmax(output, dim=1)
        return (prediction == target).sum() / opt.input.batch_size

def log_results(result_dict, scalar_outputs, num_steps):
    for key, value in scalar_outputs.items():
        if isinstance(value, float):
            result_dict[key] += value / num_steps
        else:
            result_dict[key] += value.item() / num_steps
    return result_dict
'''


def peer_source(path: Path, rel: str) -> str:
    """A file of the peer's repository: from a checkout, or from a bare git directory (HEAD)."""
    if (path / rel).is_file():
        return (path / rel).read_text()
    out = subprocess.run(["git", f"--git-dir={path}", "show", f"HEAD:{rel}"], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{path}: no {rel} there (give a checkout of loeweX/Forward-Forward or its git dir)")
    return out.stdout


def load_loewex(path: Path):
    """Import the peer's ff_model.py as package `src` from a temporary folder; returns (module, utils shim)."""
    tmp = Path(tempfile.mkdtemp(prefix="ff-peer-"))
    (tmp / "src").mkdir()
    (tmp / "src" / "__init__.py").write_text("")
    (tmp / "src" / "utils.py").write_text(SHIM)
    (tmp / "src" / "ff_model.py").write_text(peer_source(path, "src/ff_model.py"))
    sys.path.insert(0, str(tmp))
    import src.ff_model as ff_model  # noqa: E402
    import src.utils as utils  # noqa: E402
    return ff_model, utils


def ns(**kw):
    return types.SimpleNamespace(**kw)


def peer_opt(hidden: int, layers: int, batch: int, epochs: int):
    """loeweX's config.yaml with the widths, batch size and epochs of this comparison."""
    return ns(device="cpu", seed=0, input=ns(batch_size=batch),
              model=ns(peer_normalization=0.03, momentum=0.9, hidden_dim=hidden, num_layers=layers),
              training=ns(epochs=epochs, learning_rate=1e-3, weight_decay=3e-4, momentum=0.9,
                          downstream_learning_rate=1e-2, downstream_weight_decay=3e-3))


def peer_batches(x, y, batch, g):
    """One epoch of the peer's samples (drop_last=True, shuffled), built outside the timed loop."""
    perm = torch.randperm(len(y), generator=g)
    out = []
    for s in range(0, len(y) - batch + 1, batch):
        xb, yb = x[perm[s:s + batch]], y[perm[s:s + batch]]
        wrong = (yb + torch.randint(1, 10, yb.shape, generator=g)) % 10
        pos, neg, neu = xb.clone(), xb.clone(), xb.clone()
        pos[:, :10] = torch.nn.functional.one_hot(yb, 10).float()
        neg[:, :10] = torch.nn.functional.one_hot(wrong, 10).float()
        neu[:, :10] = 0.1
        out.append(({"pos_images": pos, "neg_images": neg, "neutral_sample": neu}, {"class_labels": yb}))
    return out


def run_loewex(ff_model, utils, data, epochs: int, batch: int, hidden=500, layers=3) -> dict:
    """main.py's train() with in-memory batches; the test error of its downstream linear classifier."""
    torch.manual_seed(0)
    opt = peer_opt(hidden, layers, batch, epochs)
    model = ff_model.FF_model(opt)
    t = opt.training
    main_params = [p for p in model.parameters() if all(p is not x for x in model.linear_classifier.parameters())]
    optimizer = torch.optim.SGD([  # utils.get_model_and_optimizer
        {"params": main_params, "lr": t.learning_rate, "weight_decay": t.weight_decay, "momentum": t.momentum},
        {"params": model.linear_classifier.parameters(), "lr": t.downstream_learning_rate,
         "weight_decay": t.downstream_weight_decay, "momentum": t.momentum}])
    g = torch.Generator().manual_seed(0)
    secs = []
    for epoch in range(epochs):
        for group, base in zip(optimizer.param_groups, (t.learning_rate, t.downstream_learning_rate)):  # get_linear_cooldown_lr
            group["lr"] = base * 2 * (1 + epochs - epoch) / epochs if epoch > epochs // 2 else base
        batches = peer_batches(data.x_tr, data.y_tr, batch, g)
        results = defaultdict(float)  # main.py's train_results
        t0 = time.perf_counter()
        for inputs, labels in batches:
            optimizer.zero_grad()
            out = model(inputs, labels)
            out["Loss"].backward()
            optimizer.step()
            results = utils.log_results(results, out, len(batches))
        secs.append(time.perf_counter() - t0)
    with torch.no_grad():
        x = data.x_te.clone()
        x[:, :10] = 0.1
        correct = 0
        for s in range(0, len(x), 1000):
            out = model.forward_downstream_classification_model(
                {"neutral_sample": x[s:s + 1000]}, {"class_labels": data.y_te[s:s + 1000]})
            correct += float(out["classification_accuracy"]) * opt.input.batch_size
    return {"seconds": secs, "test_err": 1 - correct / len(x)}


def run_tamrin(data, epochs: int, batch: int, hidden=(500, 500, 500)) -> dict:
    from tamrin.ff import FFTrain, train_supervised
    from tamrin.ff.net import FFNet

    torch.manual_seed(0)
    net = FFNet(784, list(hidden))
    with tempfile.TemporaryDirectory() as d:
        run = Run(d, "ff-peers", quiet=True)
        hist = train_supervised(net, data.x_tr, data.y_tr, FFTrain(epochs=epochs, batch_size=batch), run, "ff",
                                torch.Generator().manual_seed(0))
    return {"seconds": [h["seconds"] for h in hist], "test_err": float((net.predict(data.x_te) != data.y_te).float().mean())}


def median_after_first(secs):
    return statistics.median(secs[1:] if len(secs) > 1 else secs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loewex", required=True, type=Path, help="loeweX/Forward-Forward: a checkout or its git directory")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--peer-batch", type=int, default=100, help="loeweX's config.yaml default")
    ap.add_argument("--save", action="store_true", help="write the numbers into benchmarks/results/ff.json and ff_peers.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from tamrin.ff.data import load_flat_mnist

    with tempfile.TemporaryDirectory() as d:
        data = load_flat_mnist("", Run(d, "ff-peers", quiet=True), val_fraction=0.1, seed=0)
    ff_model, utils = load_loewex(args.loewex)
    load0 = os.getloadavg()
    rows = {"tamrin": [], "loewex": [], "loewex_b50": []}
    for r in range(args.rounds):
        rows["tamrin"].append(run_tamrin(data, args.epochs, 50))
        rows["loewex"].append(run_loewex(ff_model, utils, data, args.epochs, args.peer_batch))
        rows["loewex_b50"].append(run_loewex(ff_model, utils, data, args.epochs, 50))
        print(f"round {r + 1}: " + ", ".join(f"{k} {median_after_first(v[-1]['seconds']):.3f} s/epoch "
                                              f"test err {100 * v[-1]['test_err']:.2f}%" for k, v in rows.items()),
              file=sys.stderr)
    res = {"env": environment(0), "cpu": cpu_name(), "load_average_at_start": load0, "load_average_at_end": os.getloadavg(),
           "epochs": args.epochs, "n_train": len(data.y_tr), "widths": [500, 500, 500], "threads": 1,
           "sec_per_epoch": {k: statistics.median(median_after_first(x["seconds"]) for x in v) for k, v in rows.items()},
           "test_err": {k: [x["test_err"] for x in v] for k, v in rows.items()},
           "per_round_sec_per_epoch": {k: [median_after_first(x["seconds"]) for x in v] for k, v in rows.items()}}
    text = table(res)
    print(text)
    if args.save:
        atomic_write_json(ROOT / "benchmarks" / "results" / "ff_peers.json", res)
        atomic_write_text(ROOT / "benchmarks" / "ff_peers.md", text)
        ff = ROOT / "benchmarks" / "results" / "ff.json"
        saved = json.loads(ff.read_text())
        saved["sec_per_epoch"] = {"measured_by": "benchmarks/ff_peers.py", **res["sec_per_epoch"]}
        atomic_write_json(ff, saved)
    return 0


def cpu_name() -> str:
    """The CPU's model name and the vector extensions that decide matmul speed (the name alone, "AMD EPYC", is
    shared by CPUs with and without AVX-512)."""
    name, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    ext = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{name} ({', '.join(ext) or 'no AVX2'})"


def table(res: dict) -> str:
    s, e = res["sec_per_epoch"], res["test_err"]
    names = {"tamrin": "tamrin ff-supervised (Adam, batch 50)",
             "loewex": "loeweX/Forward-Forward (SGD + peer norm., batch 100, its default)",
             "loewex_b50": "loeweX/Forward-Forward at batch 50"}
    lines = ["# Forward-Forward epoch time next to loeweX/Forward-Forward (benchmarks/ff_peers.py)", "",
             f"{res['cpu']}, {res['env']['cpu_count']} cores, one torch thread, torch {res['env']['versions'].get('torch')}, "
             f"{res['env']['time'][:10]}; 3 x 500 ReLUs, {res['epochs']} epochs of {res['n_train']} images; load average "
             f"{res['load_average_at_start'][0]:.1f} at start, {res['load_average_at_end'][0]:.1f} at end.", "",
             "| system | s / epoch (median) | per round | test error per round | tamrin speed-up |",
             "| --- | ---: | --- | --- | ---: |"]
    for k, label in names.items():
        lines.append(f"| {label} | {s[k]:.3f} | {', '.join(f'{v:.3f}' for v in res['per_round_sec_per_epoch'][k])} | "
                     f"{', '.join(f'{100 * v:.2f}%' for v in e[k])} | {s[k] / s['tamrin']:.2f}x |")
    lines += ["", "tamrin's test error is its accumulated-goodness prediction; loeweX's is its downstream linear "
              "classifier on the neutral-label input. The peer's batches are built before its timed loop."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
