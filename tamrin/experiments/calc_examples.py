"""Experiment `calc-examples`: the course's counting questions worked step by step with the layer calculator,
the MobileNet papers' figures reproduced from specs, and the five counting conventions side by side."""
from __future__ import annotations

from dataclasses import dataclass

from tamrin.registry import Experiment
from tamrin.report import Section

# (alpha, input size) -> (parameters in millions, multiply-adds in millions): Howard et al. 2017, Tables 6 and 7,
# with the parameter counts to two decimals as the project's MobileNet issue states them
V1_PAPER = {(1.0, 224): (4.21, 569), (0.75, 224): (2.57, 325), (0.5, 224): (1.32, 149), (0.25, 224): (0.47, 41),
            (1.0, 192): (4.21, 418), (1.0, 160): (4.21, 291), (1.0, 128): (4.21, 186)}
V2_PAPER = (3.504872, 300.8)  # torchvision's mobilenet_v2 (the paper, Sandler et al. 2018, rounds to 3.4M / 300M)


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""  # unused: everything here is computed, no data set is read

    @classmethod
    def quick(cls) -> "Config":
        return cls()


def run(cfg: Config, run) -> list[Section]:
    import torch

    from tamrin.calc.examples import EXAMPLES

    torch.set_num_threads(1)
    sections = [Section("About").text(
        "Each question is computed by the layer calculator (`tamrin calc --example NAME` prints the same), and every "
        "claim is re-checked by an independent route: a closed formula, PyTorch's own parameter counts and output "
        "shapes, gradients from autograd, or operations counted while computing the result. The last sections "
        "reproduce the MobileNet papers' figures from specs and compare the counting conventions of common tools.")]
    summary = []
    for name, fn in EXAMPLES.items():
        ex = fn()
        run.log(example=name, checks=len(ex.checks), ok=ex.ok)
        if not ex.ok:
            failed = [c for c, (got, want) in ex.checks.items() if not _agrees(got, want)]
            run.notice(f"example {name}: check(s) not met: {'; '.join(failed)}")
        summary.append([name, ex.title, len(ex.checks), "yes" if ex.ok else "NO"])
        sections.append(ex.to_section(run))
    sections[0].table(["example", "question", "checks", "all agree"], summary)
    sections.append(_mobilenet_section(run))
    sections.append(_conventions_section(run))
    return sections


def _agrees(a, b):
    from tamrin.calc.examples import agrees

    return agrees(a, b)


def _mobilenet_section(run) -> Section:
    from tamrin.calc.analyze import analyze
    from tamrin.calc.zoo import mobilenet_v1, mobilenet_v2

    rows, worst = [], 0.0
    for (alpha, size), (p_paper, m_paper) in V1_PAPER.items():
        a = analyze(mobilenet_v1(alpha, size))
        conv_fc = a.total("weights") + a.total("biases")
        dev = abs(a.macs / 1e6 - m_paper) / m_paper
        worst = max(worst, dev)
        rows.append([f"V1 a={alpha:g}", size, a.params / 1e6, conv_fc / 1e6, p_paper, a.macs / 1e6, m_paper, f"{100 * dev:.2f}%"])
    v2 = analyze(mobilenet_v2())
    rows.append(["V2 a=1", 224, v2.params / 1e6, (v2.total("weights") + v2.total("biases")) / 1e6, V2_PAPER[0],
                 v2.macs / 1e6, V2_PAPER[1], f"{100 * abs(v2.macs / 1e6 - V2_PAPER[1]) / V2_PAPER[1]:.2f}%"])
    run.write_json("mobilenet_counts.json", {"rows": rows})
    return (Section("MobileNet figures from specs")
            .text("MobileNetV1 (Table 1 of Howard et al.) and MobileNetV2 (Table 2 of Sandler et al.) written in the "
                  "calculator's spec language (`tamrin calc --zoo mobilenet_v1 --width 0.5`), counting conv and "
                  f"fully-connected multiply-adds as the papers do. The largest deviation from the papers' V1 "
                  f"multiply-adds is {100 * worst:.2f}%. MobileNetV2 has {v2.params:,} parameters (with batch norm) and "
                  f"{v2.macs / 1e6:.1f}M multiply-adds.")
            .table(["network", "input", "params (M, with BN)", "params (M, conv+FC)", "published params (M)", "MACs (M)",
                    "published MACs (M)", "MACs deviation"], rows, "published: the papers' Tables 6-7 (V1) and torchvision's mobilenet_v2 (V2)"))


def _conventions_section(run) -> Section:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tamrin.calc.analyze import analyze
    from tamrin.calc.conventions import CONVENTIONS, all_totals
    from tamrin.calc.zoo import mobilenet_v1, mobilenet_v2

    nets = {"MobileNetV1 224": analyze(mobilenet_v1()), "MobileNetV2 224": analyze(mobilenet_v2()),
            "MobileNetV1 0.25 at 128": analyze(mobilenet_v1(0.25, 128))}
    totals = {n: all_totals(a) for n, a in nets.items()}
    rows = [[c] + [totals[n][c] / 1e6 for n in nets] for c in CONVENTIONS]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / len(CONVENTIONS)
    for i, c in enumerate(CONVENTIONS):
        ax.bar([j + i * width for j in range(len(nets))], [totals[n][c] / totals[n]["tamrin"] for n in nets], width, label=c)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(nets))], list(nets))
    ax.set_ylabel("operations / tamrin MACs")
    ax.set_ylim(0.9, None)
    ax.legend(ncol=5, fontsize=8)
    ax.set_title("The same networks counted by five conventions")
    path = run.save_figure(fig, "conventions")
    v2 = totals["MobileNetV2 224"]
    spread = (max(v2.values()) - min(v2.values())) / v2["tamrin"]
    return (Section("Counting conventions compared")
            .text("ptflops, fvcore, thop and torchinfo all report multiply-accumulates, but each adds different extras: "
                  "biases, batch norm, activations, pooling (docs/calc_conventions.md lists the rules; benchmarks/calc.md "
                  f"checks them against the real tools). On MobileNetV2 the five totals differ by up to {100 * spread:.1f}% of the papers' count.")
            .table(["convention"] + [f"{n} (M)" for n in nets], rows)
            .figure(path, "operations relative to the papers' count (conv + FC multiply-adds)", base=run.path))


EXPERIMENT = Experiment(
    name="calc-examples",
    description="layer calculator: worked counting questions, MobileNet figures, counting conventions",
    exercise="parameters, shapes, receptive fields, multiply-adds (FC net, 1D CNN, RF, depthwise-separable, dilated conv, Conv1D gradients, op counts)",
    config=Config,
    run=run,
    order=15,
    trains=False,
)
