"""Why the fer experiment trains the paper's compact VGG without its dropout, and with Adam rather than SGD:
the share of dead ReLUs in the first 1024-unit dense layer of the flatten head, during the first epochs.

    PYTHONPATH=. python benchmarks/fer_dead_units.py        # about 5 minutes on one core

A unit is dead on a batch when its ReLU outputs 0 for every image: it passes no gradient back, and when
(nearly) all of them are dead the network predicts one class whatever the input. The probe batch is 512
fixed training images (no augmentation); training batches use the experiment's face augmentation and its
class-weighted, label-smoothed loss. Writes benchmarks/results/fer_dead_units.json and benchmarks/fer_dead_units.md.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETTINGS = [  # (label, optimizer, lr, Gaussian dropout after pools, dropout after dense layers)
    ("Adam 1e-3, no dropout (the experiment's default)", "adam", 1e-3, 0.0, 0.0),
    ("Adam 1e-3, the paper's dropout", "adam", 1e-3, 0.2, 0.5),
    ("Adam 1e-4, the paper's dropout", "adam", 1e-4, 0.2, 0.5),
    ("SGD+Nesterov 0.05, no dropout", "sgd", 0.05, 0.0, 0.0),
]


def main(steps: int = 480, every: int = 60):
    import torch
    import torch.nn.functional as F

    from tamrin.experiments._fer_data import class_weights, load_face_data
    from tamrin.data.face_augment import FaceAugment
    from tamrin.models import create
    from tamrin.runs import Run

    torch.set_num_threads(1)
    cfg = SimpleNamespace(data_dir="", color_mode="auto", image_size=48, train_per_class=0, val_per_class=0, seed=0)
    d = load_face_data(cfg, Run(Path(tempfile.mkdtemp(prefix="dead-")), "fer", quiet=True))
    x, y = d.x["train"], d.y["train"]
    k = len(d.classes)
    cw = class_weights(y, k)
    probe = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(1))[:512]]
    out = {"steps": steps, "batch_size": 64, "train_images": len(x), "settings": []}
    for label, opt_name, lr, dconv, dfc in SETTINGS:
        torch.manual_seed(0)
        m = create("hg_vgg", num_classes=k, input_size=48, in_chans=1, drop_conv=dconv, drop_fc=dfc)
        opt = (torch.optim.Adam(m.parameters(), lr, weight_decay=1e-4) if opt_name == "adam" else
               torch.optim.SGD(m.parameters(), lr, momentum=0.9, nesterov=True, weight_decay=5e-4))
        g = torch.Generator().manual_seed(0)
        curve, hits, t0 = [], [], time.perf_counter()
        for step in range(1, steps + 1):
            idx = torch.randint(0, len(x), (64,), generator=g)
            logits = m(FaceAugment()(x[idx], g))
            loss = F.cross_entropy(logits, y[idx], weight=cw, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            hits.append((logits.argmax(1) == y[idx]).float().mean().item())
            if step % every == 0:
                m.eval()
                with torch.no_grad():
                    h = torch.flatten(m.pool(m.features(probe)), 1)
                    a1 = torch.relu(m.classifier[0](h))
                    dead = (a1 == 0).all(0).float().mean().item()
                    distinct = int(m(probe).argmax(1).unique().numel())
                m.train()
                curve.append({"step": step, "dead_share": dead, "train_acc": sum(hits[-every:]) / every,
                              "classes_predicted": distinct})
                print(f"{label}: step {step}, dead {dead:.2f}, train acc {curve[-1]['train_acc']:.3f}, "
                      f"{distinct} classes predicted", flush=True)
        out["settings"].append({"label": label, "optimizer": opt_name, "lr": lr, "dropout": [dconv, dfc],
                                "curve": curve, "seconds": time.perf_counter() - t0})
    out["date"] = time.strftime("%Y-%m-%d")
    (ROOT / "benchmarks" / "results" / "fer_dead_units.json").write_text(json.dumps(out, indent=2))
    (ROOT / "benchmarks" / "fer_dead_units.md").write_text(table(out))
    print(table(out))


def table(r: dict) -> str:
    steps = [c["step"] for c in r["settings"][0]["curve"]]
    lines = ["# FER: dead ReLUs in the compact VGG's first dense layer (why no dropout, why Adam)", "",
             f"`PYTHONPATH=. python benchmarks/fer_dead_units.py`, {r['date']}, one core. The paper's flatten-head compact VGG "
             f"on the FER2013 subset ({r['train_images']:,} images, 48 px), batches of {r['batch_size']} with the face "
             "augmentation and the class-weighted, label-smoothed loss. Share of the 1,024 units of the first dense layer that "
             "are zero for all 512 probe images (dead), and the training accuracy over the last steps; "
             "an epoch is 120 steps.", "",
             "| setting | " + " | ".join(f"step {s}" for s in steps) + " | train acc (last steps) | classes predicted |",
             "|---|" + "---:|" * (len(steps) + 2)]
    for s in r["settings"]:
        c = s["curve"]
        lines.append(f"| {s['label']} | " + " | ".join(f"{p['dead_share']:.0%}" for p in c)
                     + f" | {c[-1]['train_acc']:.3f} | {c[-1]['classes_predicted']} |")
    lines += ["", "Our reading of the mechanism: the dense layer's inputs are pooled ReLU outputs, all ≥ 0, so a gradient step moves a unit's "
              "pre-activation for every image in the same direction; Adam's per-weight normalised steps move all 512 "
              "weights of a unit by about the learning rate at once, which shifts the pre-activation by ~lr × 512 × mean "
              "input per step. Dropout's noise makes those steps larger and less consistent, and units pushed below zero "
              "for every image never come back. The GAP variant has no hidden dense layer; it trains with SGD + Nesterov at "
              "lr 0.05 (benchmarks/fer.md)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
