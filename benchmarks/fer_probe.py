"""One FER recipe probe: train one compact model on the shared FER2013 subset with the given recipe and
print every epoch's validation accuracy (how the fer experiment's defaults were chosen; benchmarks/fer_recipes.md).

    PYTHONPATH=. python benchmarks/fer_probe.py NAME model=hg_vgg_gap epochs=20 opt=sgd lr=0.05 wd=5e-4 nesterov=1 ls=0.1

Keys (default): model (hg_vgg_gap), epochs (30), bs (64), opt (adam), lr (1e-3), wd (1e-4), sched (cosine),
ls (0), nesterov (0), warmup (0), dconv (0), dfc (0), aug (face | flip | none), cw (1: class weights),
size (48), width (1), threads (1), budget (0 s = none).
"""
import json
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv):
    import torch

    from tamrin.experiments._fer_data import class_weights, load_face_data
    from tamrin.data.face_augment import FaceAugment
    from tamrin.models import create
    from tamrin.runs import Run
    from tamrin.train import TrainConfig, fit

    name, kv = argv[0], dict(a.split("=", 1) for a in argv[1:])

    def g(key, default):
        if isinstance(default, bool):
            return kv.get(key, str(int(default))) in ("1", "true", "True")
        return type(default)(kv.get(key, default))

    torch.set_num_threads(g("threads", 1))
    size = g("size", 48)
    cfg = SimpleNamespace(data_dir="", color_mode="auto", image_size=size, train_per_class=0, val_per_class=0, seed=0)
    run = Run(Path(tempfile.mkdtemp(prefix="fer-probe-")), "fer", quiet=True)
    d = load_face_data(cfg, run)
    k, c = len(d.classes), d.x["train"].shape[1]
    augs = {"face": FaceAugment(), "flip": FaceAugment(rotate=0, shift=0, zoom=0, brightness=0, contrast=0), "none": None}
    torch.manual_seed(0)
    model = create(g("model", "hg_vgg_gap"), num_classes=k, width_mult=g("width", 1.0), input_size=size, in_chans=c,
                   drop_conv=g("dconv", 0.0), drop_fc=g("dfc", 0.0))
    tc = TrainConfig(epochs=g("epochs", 30), batch_size=g("bs", 64), optimizer=g("opt", "adam"), lr=g("lr", 1e-3),
                     weight_decay=g("wd", 1e-4), schedule=g("sched", "cosine"), label_smoothing=g("ls", 0.0),
                     nesterov=g("nesterov", False), warmup_epochs=g("warmup", 0.0), time_budget_s=g("budget", 0.0),
                     progress=False)
    t0 = time.time()

    def show(rec):
        print(name, json.dumps({key: round(v, 4) if isinstance(v, float) else v for key, v in rec.items()}),
              f"t={time.time() - t0:.0f}", flush=True)

    res = fit(model, (d.x["train"], d.y["train"]), (d.x["validation"], d.y["validation"]), tc, run, tag=name,
              augment=augs[g("aug", "face")], class_weights=class_weights(d.y["train"], k) if g("cw", True) else None,
              callbacks=[show])
    print(name, "BEST", res.best_val_acc, f"t={time.time() - t0:.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
