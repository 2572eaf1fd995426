"""Data-layer benchmark: load times of the real shared data, and how learnable the synthetic set is.

Run from the repo root:  PYTHONPATH=$PWD python benchmarks/data_load.py [--epochs 4]
Writes benchmarks/results/data.json and benchmarks/data.md (every number in it comes from this run).
The course machines are shared: timings vary with the load of other users (recorded in the JSON).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def bench_loads(results: dict) -> None:
    from tamrin.data import load_cifar10, load_mnist, shared_data_dir

    if shared_data_dir() is None:
        print("no ../shared/data: skipping real-data load timings")
        return
    (tr, t_tr), (te, t_te) = _timed(lambda: load_mnist(split="train")), _timed(lambda: load_mnist(split="test"))
    results["mnist"] = {"train_images": len(tr), "test_images": len(te), "train_s": t_tr, "test_s": t_te}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TAMRIN_DATA"] = cache  # a fresh cache: the first load really decodes
        first, t_first = _timed(load_cifar10)
        cached = [_timed(load_cifar10)[1] for _ in range(3)]
    results["cifar10"] = {"images": len(first), "first_load_s": t_first, "cached_load_s": cached,
                          "cached_load_median_s": statistics.median(cached)}


def bench_synthetic(results: dict, epochs: int, n_train: int, n_test: int) -> None:
    import torch

    from tamrin.data import synthetic_images, to_tensor

    torch.set_num_threads(1)
    tr, t_gen = _timed(lambda: synthetic_images(n_train, seed=0))
    te = synthetic_images(n_test, seed=1)
    x_tr = tr.images.reshape(len(tr), -1).astype(np.float32) / 255
    x_te = te.images.reshape(len(te), -1).astype(np.float32) / 255
    means = np.stack([x_tr[tr.labels == c].mean(0) for c in range(10)])
    nearest_mean = float((((x_te[:, None] - means[None]) ** 2).sum(-1).argmin(1) == te.labels).mean())
    torch.manual_seed(0)

    def block(cin, cout):
        return [torch.nn.Conv2d(cin, cout, 3, padding=1), torch.nn.BatchNorm2d(cout), torch.nn.ReLU()]

    net = torch.nn.Sequential(*block(3, 32), torch.nn.MaxPool2d(2), *block(32, 64), torch.nn.MaxPool2d(2),
                              *block(64, 64), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10))
    x, y = to_tensor(tr)
    xt, yt = to_tensor(te)
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    cnn = []
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            b = perm[i:i + 64]
            loss = torch.nn.functional.cross_entropy(net(x[b]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            cnn.append(float((net(xt).argmax(1) == yt).float().mean()))
        print(f"synthetic CNN epoch {epoch + 1}: test accuracy {cnn[-1]:.3f}", flush=True)
    results["synthetic"] = {"n_train": n_train, "n_test": n_test, "generate_s": t_gen,
                            "nearest_class_mean_acc": nearest_mean, "cnn_acc_per_epoch": cnn, "epochs": epochs}


def write_markdown(results: dict, path: Path) -> None:
    lines = ["# Data layer benchmark", "",
             f"Measured {results['date']} on {results['machine']} ({results['cpus']} CPUs, load average "
             f"{results['loadavg'][0]:.1f} at the start: the machine was shared and busy).", "",
             "| what | value |", "| --- | --- |"]
    if "mnist" in results:
        m = results["mnist"]
        lines += [f"| MNIST train load ({m['train_images']:,} images, IDX gzip) | {m['train_s']:.2f} s |",
                  f"| MNIST test load ({m['test_images']:,} images) | {m['test_s']:.2f} s |"]
    if "cifar10" in results:
        c = results["cifar10"]
        lines += [f"| CIFAR-10 first load ({c['images']:,} JPEGs decoded from the shared tar.gz, pool of 2) | {c['first_load_s']:.1f} s |",
                  f"| CIFAR-10 cached load (uint8 .npy), median of {len(c['cached_load_s'])} | {c['cached_load_median_s']:.2f} s |"]
    if "synthetic" in results:
        s = results["synthetic"]
        lines += [f"| synthetic set: generate {s['n_train']:,} 32x32x3 images | {s['generate_s']:.2f} s |",
                  f"| synthetic: nearest class mean on pixels, test accuracy | {s['nearest_class_mean_acc']:.1%} |",
                  f"| synthetic: small BN CNN after {s['epochs']} epochs on {s['n_train']:,} images, test accuracy | {s['cnn_acc_per_epoch'][-1]:.1%} |"]
    lines += ["", "Chance level on the synthetic set is 10%: a linear rule on pixels stays near it, a small CNN learns it.", ""]
    path.write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--n-train", type=int, default=3000)
    ap.add_argument("--n-test", type=int, default=500)
    args = ap.parse_args()
    root = Path(__file__).resolve().parent
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.machine(),
               "cpus": os.cpu_count(), "loadavg": list(os.getloadavg())}
    bench_loads(results)
    bench_synthetic(results, args.epochs, args.n_train, args.n_test)
    (root / "results").mkdir(exist_ok=True)
    (root / "results" / "data.json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, root / "data.md")
    print((root / "data.md").read_text())


if __name__ == "__main__":
    main()
