"""Reference networks written in the calculator's own spec language (not built from torch modules).

`mobilenet_v1(alpha, size)` follows Howard et al. 2017, Table 1; `mobilenet_v2(alpha, size)` follows
Sandler et al. 2018, Table 2 with torchvision's channel rounding. The tests check them against the
papers' parameter and multiply-add figures, and the model helper's torch modules are counted separately.
"""
from __future__ import annotations

from tamrin.errors import UserError, did_you_mean

# (stride, output channels) of the 13 depthwise-separable blocks of MobileNetV1
V1_BLOCKS = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)] + [(1, 512)] * 5 + [(2, 1024), (1, 1024)]
# (expansion t, channels c, repeats n, first stride s) of MobileNetV2
V2_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenet_v1(alpha: float = 1.0, size: int = 224, classes: int = 1000) -> str:
    """Conv 3x3 s2, then 13 blocks (dw3x3 + BN + ReLU, pw + BN + ReLU), global pool, FC. Convs carry no bias (BN follows)."""
    def ch(c):
        return max(1, int(c * alpha))

    toks = [f"in:3x{size}x{size}", f"conv3x3s2p1nb:{ch(32)}", "bn", "relu"]
    for s, c in V1_BLOCKS:
        toks += [f"dw3x3s{s}p1nb", "bn", "relu", f"pwnb:{ch(c)}", "bn", "relu"]
    toks += ["gap", f"dense:{classes}"]
    return " ".join(toks)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round to the nearest multiple of 8 without going down by more than 10% (MobileNetV2 / torchvision)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def mobilenet_v2(alpha: float = 1.0, size: int = 224, classes: int = 1000) -> str:
    """Inverted residual blocks: pw expand + BN + ReLU6, dw3x3 + BN + ReLU6, pw project + BN (linear bottleneck);
    the identity shortcut only when the stride is 1 and the channels match."""
    c_in = make_divisible(32 * alpha)
    last = make_divisible(1280 * max(1.0, alpha))  # the last 1x1 conv is not shrunk for alpha < 1
    toks = [f"in:3x{size}x{size}", f"conv3x3s2p1nb:{c_in}", "bn", "relu6"]
    for t, c, n, s in V2_SETTINGS:
        c_out = make_divisible(c * alpha)
        for i in range(n):
            stride = s if i == 0 else 1
            body = ([f"pwnb:{c_in * t}", "bn", "relu6"] if t != 1 else [])
            body += [f"dw3x3s{stride}p1nb", "bn", "relu6", f"pwnb:{c_out}", "bn"]
            toks += ["res(", *body, ")"] if stride == 1 and c_in == c_out else body
            c_in = c_out
    toks += [f"pwnb:{last}", "bn", "relu6", "gap", "dropout:0.2", f"dense:{classes}"]
    return " ".join(toks)


ZOO = {"mobilenet_v1": mobilenet_v1, "mobilenet_v2": mobilenet_v2}


def spec_for(name: str, alpha: float = 1.0, size: int = 224, classes: int = 1000) -> str:
    if name not in ZOO:
        raise UserError(f"unknown built-in spec {name!r}{did_you_mean(name, ZOO)}; choose one of: {', '.join(ZOO)}")
    return ZOO[name](alpha, size, classes)
