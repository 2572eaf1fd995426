"""`tamrin explain RUN_DIR --images PATH... [--method ...] [--class K] [--layer NAME]`

Loads the run's checkpoint, explains each image (predicted class unless --class) and writes a figure
grid: the inputs on top, the map overlaid below (gradient-type methods: the signed input gradients).
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

from tamrin.errors import UserError
from tamrin.runs import atomic_write_bytes

METHOD_CHOICES = ("gradcam", "cam", "gradcam++", "guided", "guided-gradcam", "deconvnet", "gradient")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, like the top-level CLI
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tamrin explain", description="CAM / Grad-CAM / Grad-CAM++ / guided backprop / deconvnet / gradient maps for a trained run.")
    p.add_argument("run_dir", help="run folder with checkpoints/<tag>.pt")
    p.add_argument("--images", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument("--method", default="gradcam", choices=METHOD_CHOICES)
    p.add_argument("--class", dest="target", type=int, help="class index to explain (default: the predicted class)")
    p.add_argument("--layer", help="target layer, a dotted module name (default: the last convolution); see --list-layers")
    p.add_argument("--tag", help="checkpoint tag when the run has several")
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="resize the images (default: the checkpoint's input_size, else the first image's size)")
    p.add_argument("--shared-scale", action="store_true", help="one colour scale for all images instead of one per image")
    p.add_argument("--out", help="output PNG (default: RUN_DIR/explain/<method>.png)")
    p.add_argument("--list-layers", action="store_true", help="print the candidate target layers and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from tamrin.explain import explain, grid_figure
    from tamrin.explain.checkpoint import image_paths, in_channels, load_run, load_images
    from tamrin.explain.hooks import candidate_layers, default_layer

    args = build_parser().parse_args(argv)
    model, ck = load_run(args.run_dir, args.tag)
    if args.list_layers:
        default = default_layer(model)
        for name in candidate_layers(model):
            print(name + ("  (default)" if name == default else ""))
        return 0
    if not args.images:
        raise UserError("tamrin explain: give the images to explain with --images PATH...")
    paths = image_paths(args.images)
    x = load_images(paths, in_channels(model), args.size or ck.get("input_size"), ck.get("normalize"))
    torch.set_grad_enabled(True)
    e = explain(model, x, args.method, args.layer, args.target)
    classes = ck.get("classes")
    name = (lambda k: str(classes[k]) if classes and k < len(classes) else str(k))
    titles = [f"{p.name}\npred {name(int(c))} ({float(pr.max()):.2f})" + ("" if args.target is None else f"\nmap: {name(args.target)}")
              for p, c, pr in zip(paths, e.predicted, e.probs)]
    data = e.gradients if e.gradients is not None else e.maps
    fig = grid_figure(x, [(args.method, data)], titles, shared=args.shared_scale,
                      title=f"{args.method} of {Path(args.run_dir).name}" + (f", layer {e.layer}" if e.layer else ""))
    out = Path(args.out) if args.out else Path(args.run_dir) / "explain" / f"{args.method}.png"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(out, buf.getvalue())
    print(f"wrote {out}")
    return 0
