"""Benchmark: one training epoch of tamrin.scratch.FullyConnectedNet vs the same MLP in PyTorch (CPU).

Same architecture (affine-ReLU x len(hidden) - affine, softmax cross-entropy), same float32 data of MNIST
size (784 inputs, 10 classes), same batch size, Adam in both, same number of threads for numpy's BLAS and
torch. Each epoch is timed after one warm-up epoch; the median of `--repeats` epochs is reported.

    python benchmarks/scratch_fc.py            # 60,000 examples (an MNIST training epoch)
    python benchmarks/scratch_fc.py --quick    # 10,000 examples, fewer repeats
Writes benchmarks/results/scratch_fc.json and benchmarks/scratch_fc.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _hyper(rule):
    return {"learning_rate": 1e-3} if rule == "adam" else {"learning_rate": 1e-2, "momentum": 0.9}


def numpy_epoch(X, y, hidden, batch, rule="adam", seed=0):
    from tamrin.scratch import optim
    from tamrin.scratch.nets import FullyConnectedNet

    model = FullyConnectedNet(hidden, input_dim=X.shape[1], num_classes=10, init="he", seed=seed)
    configs = {k: _hyper(rule) for k in model.params}
    update = getattr(optim, rule)

    def epoch():
        t0 = time.perf_counter()
        for i in range(0, len(X) - batch + 1, batch):
            _, grads = model.loss(X[i:i + batch], y[i:i + batch])
            for k, w in model.params.items():
                new_w, configs[k] = update(w, grads[k], configs[k])
                model.params[k] = new_w.astype(w.dtype, copy=False)  # as the Solver does
        return time.perf_counter() - t0

    return epoch


def torch_epoch(X, y, hidden, batch, rule="adam", seed=0):
    import torch

    torch.manual_seed(seed)
    dims = [X.shape[1]] + list(hidden)
    layers = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers, torch.nn.Linear(dims[-1], 10))
    opt = (torch.optim.Adam(net.parameters(), lr=1e-3) if rule == "adam"
           else torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        t0 = time.perf_counter()
        for i in range(0, len(X) - batch + 1, batch):
            opt.zero_grad(set_to_none=True)
            loss_fn(net(Xt[i:i + batch]), yt[i:i + batch]).backward()
            opt.step()
        return time.perf_counter() - t0

    return epoch


def measure(make, repeats: int) -> list[float]:
    f = make()
    f()  # warm-up (allocations, BLAS thread start-up)
    return [f() for _ in range(repeats)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--hidden", default="512,256")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", default="1", help="comma-separated thread counts, e.g. 1,2")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--optimizers", default="adam,sgd_momentum", help="update rules to compare (adam, sgd_momentum)")
    args = ap.parse_args(argv)
    n = args.n or (10_000 if args.quick else 60_000)
    repeats = args.repeats or (3 if args.quick else 5)
    hidden = [int(h) for h in args.hidden.split(",") if h]
    import torch
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 784)).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    results = []
    for rule in args.optimizers.split(","):
        for t in (int(s) for s in args.threads.split(",")):
            torch.set_num_threads(t)
            with threadpool_limits(t):
                tn = measure(lambda: numpy_epoch(X, y, hidden, args.batch, rule), repeats)
                tt = measure(lambda: torch_epoch(X, y, hidden, args.batch, rule), repeats)
            row = {"optimizer": rule, "threads": t, "numpy_s": statistics.median(tn),
                   "torch_s": statistics.median(tt), "numpy_all": tn, "torch_all": tt}
            row["ratio"] = row["numpy_s"] / row["torch_s"]
            results.append(row)
            print(f"{rule}, threads {t}: numpy {row['numpy_s']:.3f} s/epoch, torch {row['torch_s']:.3f} s/epoch, "
                  f"ratio {row['ratio']:.2f}x", flush=True)
    from tamrin.scratch import optim

    # Does each update rule keep float32? (A float64 NumPy scalar inside an update silently promotes
    # the whole update to float64 under NumPy 2's promotion rules, which costs time.)
    w32 = np.ones(4, np.float32)
    dtypes = {}
    for rule in args.optimizers.split(","):
        cfg = _hyper(rule)
        w1, cfg = getattr(optim, rule)(w32, w32, cfg)
        w2, _ = getattr(optim, rule)(w1.astype(np.float32), w32, cfg)
        dtypes[rule] = str(w2.dtype)
    out_notes = [f"`tamrin.scratch.optim.{r}` returns {d} for float32 inputs" for r, d in dtypes.items()]
    out = {"benchmark": "scratch_fc", "n": n, "hidden": hidden, "batch": args.batch,
           "dtype": "float32", "repeats": repeats, "results": results, "target_ratio": 1.5,
           "numpy": np.__version__, "torch": torch.__version__, "machine": platform.platform(),
           "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
           "update_dtypes": dtypes,
           "note": "shared machine (2 cores, several developers): absolute times are noisy, the ratio is the result"}
    from tamrin.runs import atomic_write_json, atomic_write_text

    atomic_write_json(ROOT / "benchmarks" / "results" / "scratch_fc.json", out)
    lines = ["# FullyConnectedNet (NumPy) vs PyTorch MLP: one training epoch on CPU", "",
             f"{n:,} examples of MNIST size (784 → {' → '.join(map(str, hidden))} → 10), batch {args.batch}, "
             f"float32, median of {repeats} epochs after a warm-up epoch; the same update rule on both sides "
             f"(tamrin.scratch.optim vs torch.optim). Target: NumPy within 1.5x of PyTorch.", "",
             "| update rule | threads | NumPy s/epoch | PyTorch s/epoch | NumPy / PyTorch | within 1.5x |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| {r['optimizer']} | {r['threads']} | {r['numpy_s']:.3f} | {r['torch_s']:.3f} | {r['ratio']:.2f}x | "
                     f"{'yes' if r['ratio'] <= 1.5 else 'no'} |")
    lines += ["", "Update dtype check: " + "; ".join(out_notes) + ". A float64 update of float32 weights "
              "(then cast back by the Solver) is several times slower than a float32 one." if "float64" in dtypes.values()
              else "Update dtype check: " + "; ".join(out_notes) + "."]
    lines += ["", f"Measured on {platform.machine()}, {os.cpu_count()} cores, load average "
                  f"{out['load_average'][0]:.1f} at the end (the machine was shared and busy); numpy {np.__version__}, "
                  f"torch {torch.__version__}. Produced by `python benchmarks/scratch_fc.py"
                  f"{(' ' + ' '.join(argv if argv is not None else sys.argv[1:])).rstrip()}`; raw numbers in `benchmarks/results/scratch_fc.json`.", ""]
    atomic_write_text(ROOT / "benchmarks" / "scratch_fc.md", "\n".join(lines))


if __name__ == "__main__":
    main()
