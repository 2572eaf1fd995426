"""Layer-stack specs: a compact text line, or YAML/JSON.

Compact text, tokens separated by spaces (case-insensitive):

    in:3x224x224 conv3x3s2p1:32 bn relu dw3x3p1 pw:64 maxpool2 gap dense:10

    in:CxHxW            input shape without batch (in:7x500 for 1D, in:3x16x112x112 for 3D, in:20 flat)
    convK[opts]:N       convolution with N output channels; K = 3 or 3x5 (one size per spatial dim)
    dwK[opts][:N]       depthwise conv (groups = input channels); N defaults to the input channels
    pw[opts]:N          pointwise 1x1 conv
    convtK[opts]:N      transposed convolution
    maxpoolK[opts], avgpoolK[opts]   pooling; the stride defaults to the kernel
    gap, gmp            global average / max pooling (output is flat: C values)
    flatten, dense:N (or fc:N), bn, dropout[:p], relu, relu6, sigmoid, tanh, gelu, elu, leakyrelu[:slope],
    silu, hardswish, softmax, prelu, identity
    options: sN stride, pN | psame | pvalid padding, dN dilation, gN groups, opN output padding
             (transposed), nb no bias, c ceil mode (pooling); N may be a tuple such as s2x1.
    Padding defaults to 0 ('valid'), as in PyTorch.

Branches:  cat( A | B | C ) runs the branches on the same input and concatenates channels (Inception);
           add( A | B ) sums them; an empty branch is the identity, so res( A ) = add( A | ).

YAML/JSON: {input: 3x224x224, layers: [...]} (or a list whose first item is 'in:...'); an item is a
compact string (one or more tokens), a mapping {type: conv, kernel: 3, stride: 2, padding: same, out: 32},
or {cat: [[...], [...]]}, {add: [[...], [...]]}, {res: [...]}.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from tamrin.calc.layers import ACTIVATIONS, LAYER_TYPES, Layer
from tamrin.errors import UserError

ALIASES = {"fc": "dense", "linear": "dense", "deconv": "convt", "batchnorm": "bn", "globalavgpool": "gap",
           "globalmaxpool": "gmp", "swish": "silu"}
BLOCKS = ("cat", "add", "res")
_NAMES = sorted(set(LAYER_TYPES) | set(ALIASES), key=len, reverse=True)  # longest first: relu6 before relu
_TUPLE = r"\d+(?:x\d+)*"
_OPT = re.compile(rf"psame|pvalid|nb|c|op{_TUPLE}|[spdg]{_TUPLE}")
# options each layer type accepts
_ALLOWED = {"conv": "spdg", "dw": "spd", "pw": "sg", "convt": "spdgo", "maxpool": "spdc", "avgpool": "spc",
            "dense": ""}
_VALID = f"valid layer types: {', '.join(LAYER_TYPES)}; blocks: cat( | ), add( | ), res( )"


@dataclass
class Block:
    """Parallel branches on one input, merged by concatenation ('cat') or sum ('add')."""

    mode: str
    branches: list
    token: str = ""
    where: str = ""

    def fail(self, msg: str) -> UserError:
        return UserError(f"{self.token!r} at {self.where}: {msg}")


@dataclass
class Spec:
    input_shape: tuple
    nodes: list = field(default_factory=list)
    text: str = ""


def _ints(s: str) -> tuple:
    return tuple(int(v) for v in s.split("x"))


def parse_token(tok: str, where: str) -> Layer:
    """One compact token -> Layer. Raises UserError naming the token and where it is."""
    low = tok.strip().lower()

    def bad(msg):
        return UserError(f"bad token {tok!r} at {where}: {msg}")

    name = next((n for n in _NAMES if low.startswith(n)), None)
    if name is None:
        raise bad(f"unknown layer type; {_VALID}")
    kind = ALIASES.get(name, name)
    rest, arg = low[len(name):], None
    if ":" in rest:
        rest, arg = rest.split(":", 1)
    layer = Layer(kind=kind, token=tok, where=where)
    m = re.match(rf"({_TUPLE})?(.*)$", rest)
    kernel, opts = m.group(1), m.group(2)
    if kernel:
        if kind not in ("conv", "dw", "convt", "maxpool", "avgpool"):
            raise bad(f"{kind} takes no kernel size")
        layer.kernel = _ints(kernel)
    elif kind in ("conv", "dw", "convt", "maxpool", "avgpool"):
        raise bad(f"{kind} needs a kernel size, e.g. {kind}3")
    if kind == "pw":
        layer.kernel = (1,)
    allowed = _ALLOWED.get(kind, "")
    pos = 0
    while pos < len(opts):
        om = _OPT.match(opts, pos)
        if om is None:
            raise bad(f"cannot read option {opts[pos:]!r}; options: sN stride, pN/psame/pvalid padding, dN dilation, "
                      "gN groups, opN output padding, nb no bias, c ceil mode; " + _VALID)
        o = om.group(0)
        letter = "o" if o.startswith("op") else o[0]
        if o == "nb":
            if kind not in _ALLOWED or kind in ("maxpool", "avgpool"):
                raise bad(f"{kind} has no bias to remove")
            layer.bias = False
        elif letter not in allowed:
            raise bad(f"option {o!r} does not apply to {kind} (it takes: {', '.join(allowed) or 'no options'})")
        elif o == "c":
            layer.ceil = True
        elif o in ("psame", "pvalid"):
            layer.padding = o[1:]
        elif letter == "o":
            layer.output_padding = _ints(o[2:])
        elif letter == "s":
            layer.stride = _ints(o[1:])
        elif letter == "p":
            layer.padding = _ints(o[1:])
        elif letter == "d":
            layer.dilation = _ints(o[1:])
        elif letter == "g":
            layer.groups = int(o[1:])
        pos = om.end()
    _set_arg(layer, arg, bad)
    return layer


def _set_arg(layer: Layer, arg, bad) -> None:
    kind = layer.kind
    if kind in ("conv", "pw", "convt", "dense"):
        if arg is None or not arg.isdigit() or int(arg) < 1:
            raise bad(f"{kind} needs a positive width after ':', e.g. {kind}{'3' if kind in ('conv', 'convt') else ''}:32")
        layer.out = int(arg)
    elif kind == "dw":
        if arg is not None:
            if not arg.isdigit() or int(arg) < 1:
                raise bad("dw takes an optional number of output channels after ':'")
            layer.out = int(arg)
    elif kind in ("dropout", "leakyrelu"):
        if arg is not None:
            try:
                layer.value = float(arg)
            except ValueError:
                raise bad(f"{kind} takes a number after ':'") from None
    elif arg is not None:
        raise bad(f"{kind} takes nothing after ':'")


def parse_shape(text: str, where: str = "input") -> tuple:
    t = str(text).strip().lower()
    if t.startswith("in:"):
        t = t[3:]
    if not re.fullmatch(_TUPLE, t) or 0 in _ints(t):
        raise UserError(f"bad input shape {text!r} at {where}: write it as CxHxW (e.g. in:3x224x224), CxL or F")
    return _ints(t)


def tokenize(text: str) -> list[str]:
    return re.sub(r"([()|])", r" \1 ", text).split()


def parse_text(text: str, input_shape=None) -> Spec:
    """Compact text -> Spec. Positions in errors count the tokens from 1."""
    toks = tokenize(text)
    if not toks:
        raise UserError("empty layer spec; start with the input shape, e.g. 'in:3x32x32 conv3p1:16 relu gap dense:10'")
    i = 0
    if toks[0].lower().startswith("in:"):
        input_shape = parse_shape(toks[0], "position 1")
        i = 1
    if input_shape is None:
        raise UserError(f"the spec must start with the input shape, e.g. in:3x224x224 (got {toks[0]!r} at position 1)")
    nodes, i = _parse_seq(toks, i, top=True)
    return Spec(tuple(input_shape), nodes, text)


def _parse_seq(toks, i, top):
    """Parse tokens from i until ')' or '|' (or the end when top); returns (nodes, index of the stopper)."""
    nodes = []
    while i < len(toks):
        t = toks[i]
        where = f"position {i + 1}"
        if t in (")", "|"):
            if top:
                raise UserError(f"unexpected {t!r} at {where}: no open cat( / add( / res( block")
            return nodes, i
        if t == "(":
            raise UserError(f"unexpected '(' at {where}: write cat( ... | ... ), add( ... | ... ) or res( ... )")
        low = t.lower()
        if low in BLOCKS and i + 1 < len(toks) and toks[i + 1] == "(":
            branches, j = [], i + 2
            while True:
                seq, j = _parse_seq(toks, j, top=False)
                if j >= len(toks):
                    raise UserError(f"{t}( at {where} is never closed with ')'")
                branches.append(seq)
                j += 1
                if toks[j - 1] == ")":
                    break
            nodes.append(_block(low, branches, f"{t}(", where))
            i = j
            continue
        if low in BLOCKS:
            raise UserError(f"bad token {t!r} at {where}: {low} needs its branches in brackets, e.g. {low}( pw:16 | pw:16 )")
        nodes.append(parse_token(t, where))
        i += 1
    return nodes, i


def _block(mode, branches, token, where) -> Block:
    if mode == "res":
        if len(branches) != 1:
            raise UserError(f"{token!r} at {where}: res( ... ) takes one branch (use add( A | B ) for two)")
        return Block("add", [branches[0], []], token, where)
    if mode == "cat" and any(len(b) == 0 for b in branches) and len(branches) < 2:
        raise UserError(f"{token!r} at {where}: cat( needs at least two branches separated by '|'")
    return Block(mode, branches, token, where)


# --- YAML / JSON ------------------------------------------------------------------------------
_KEYS = {"type", "kind", "out", "kernel", "stride", "padding", "dilation", "groups", "output_padding", "bias",
         "ceil", "ceil_mode", "value", "p", "slope"}


def parse_data(data, where: str = "layers") -> Spec:
    """A loaded YAML/JSON object -> Spec."""
    shape = None
    if isinstance(data, dict):
        unknown = set(data) - {"input", "layers", "name", "description"}
        if unknown:
            raise UserError(f"unknown key(s) {sorted(unknown)} in the spec file; use input: and layers:")
        if "input" not in data or "layers" not in data:
            raise UserError("the spec file needs 'input: CxHxW' and 'layers: [...]'")
        shape = parse_shape(data["input"], "input")
        items = data["layers"]
    elif isinstance(data, list):
        items = list(data)
        if items and isinstance(items[0], str) and items[0].strip().lower().startswith("in:"):
            first = items[0].split()
            shape = parse_shape(first[0], f"{where}[0]")
            items = [" ".join(first[1:])] + items[1:] if len(first) > 1 else items[1:]
    else:
        raise UserError("a spec file holds a mapping {input:, layers:} or a list of layers")
    if shape is None:
        raise UserError("the spec file needs an input shape: 'input: 3x224x224' or a first item 'in:3x224x224'")
    return Spec(shape, _items(items, where))


def _items(items, where) -> list:
    if not isinstance(items, list):
        raise UserError(f"{where} must be a list of layers")
    nodes = []
    for n, item in enumerate(items):
        w = f"{where}[{n}]"
        if isinstance(item, str):
            for k, tok in enumerate(item.split()):
                nodes.append(parse_token(tok, w if len(item.split()) == 1 else f"{w} word {k + 1}"))
        elif isinstance(item, dict) and len(item) == 1 and next(iter(item)) in BLOCKS:
            mode, body = next(iter(item.items()))
            if mode == "res":
                nodes.append(_block("res", [_items(body, f"{w}.res")], "res", w))
            else:
                if not isinstance(body, list) or not all(isinstance(b, list) for b in body):
                    raise UserError(f"{mode} at {w}: give a list of branches, each a list of layers (an empty list = identity)")
                nodes.append(_block(mode, [_items(b, f"{w}.{mode}[{i}]") for i, b in enumerate(body)], mode, w))
        elif isinstance(item, dict):
            nodes.append(_layer_from_dict(item, w))
        else:
            raise UserError(f"cannot read {item!r} at {w}: a layer is a string like 'conv3x3:32' or a mapping with 'type'")
    return nodes


def _layer_from_dict(d: dict, where: str) -> Layer:
    unknown = set(d) - _KEYS
    if unknown:
        raise UserError(f"unknown key(s) {sorted(unknown)} at {where}; keys: {', '.join(sorted(_KEYS))}")
    kind = str(d.get("type", d.get("kind", ""))).lower()
    kind = ALIASES.get(kind, kind)
    if kind not in LAYER_TYPES:
        raise UserError(f"bad layer type {kind!r} at {where}; {_VALID}")

    def tup(v):
        return tuple(int(x) for x in v) if isinstance(v, (list, tuple)) else (int(v),)

    layer = Layer(kind=kind, token=str(d.get("type", kind)), where=where)
    if "kernel" in d:
        layer.kernel = tup(d["kernel"])
    elif kind == "pw":
        layer.kernel = (1,)
    elif kind in ("conv", "dw", "convt", "maxpool", "avgpool"):
        raise UserError(f"{kind} at {where} needs 'kernel'")
    if "stride" in d:
        layer.stride = tup(d["stride"])
    if "padding" in d:
        p = d["padding"]
        layer.padding = p.lower() if isinstance(p, str) else tup(p)
        if isinstance(p, str) and layer.padding not in ("same", "valid"):
            raise UserError(f"padding {p!r} at {where}: use a number, a list, 'same' or 'valid'")
    for key in ("dilation", "output_padding"):
        if key in d:
            setattr(layer, key, tup(d[key]))
    layer.groups = int(d.get("groups", 1))
    layer.bias = bool(d.get("bias", True))
    layer.ceil = bool(d.get("ceil", d.get("ceil_mode", False)))
    if "out" in d:
        layer.out = int(d["out"])
    for key in ("value", "p", "slope"):
        if key in d:
            layer.value = float(d[key])
    if kind in ("conv", "pw", "convt", "dense") and not layer.out:
        raise UserError(f"{kind} at {where} needs 'out' (output channels / features)")
    return layer


def load(source: str | Path) -> Spec:
    """Read a .yaml/.yml/.json spec file."""
    import yaml

    path = Path(source)
    if not path.exists():
        raise UserError(f"no such spec file: {path}")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise UserError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {str(e).splitlines()[0]}") from None
    spec = parse_data(data)
    spec.text = str(path)
    return spec


def parse(spec) -> Spec:
    """Spec | compact text | dict/list -> Spec."""
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, str):
        return parse_text(spec)
    return parse_data(spec)


assert set(ACTIVATIONS) <= set(LAYER_TYPES)
