"""Sentence sentiment data: the Stanford Sentiment Treebank's PTB trees, or a user's `label<TAB>sentence` file.

- PTB trees (Socher et al. 2013): `(3 (2 The) (2 Rock) ...)`, one tree per line; the sentence is the leaves,
  its label the root's, and every inner node is a labelled phrase (phrase-level training uses them all).
  The treebank is already tokenised, so tokens are only lower-cased and PTB escapes undone (-LRB- → "(").
- TSV/CSV: `label<TAB>sentence` (or `label,sentence`) lines, tokenised with a PTB-like regular expression.
- Bad lines are skipped and counted by reason (the report states them); nothing usable → one UserError.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tamrin.data.paths import display_path, shared_data_dir
from tamrin.errors import UserError

__all__ = ["SST5_CLASSES", "Example", "Split", "Vocab", "parse_tree", "read_ptb", "read_tsv", "read_split",
           "load_sentiment", "tokenize", "encode", "bucket_batches"]

SST5_CLASSES = ["very negative", "negative", "neutral", "positive", "very positive"]
PTB_ESCAPES = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}
PAD, UNK = "<pad>", "<unk>"


@dataclass
class Example:
    tokens: list[str]
    label: int
    phrases: list[tuple[tuple[str, ...], int]] = field(default_factory=list)  # (tokens, label) of every node, root included


@dataclass
class Split:
    name: str
    examples: list[Example]
    source: str
    skipped: Counter = field(default_factory=Counter)  # reason -> lines skipped

    @property
    def labels(self) -> np.ndarray:
        return np.array([e.label for e in self.examples], dtype=np.int64)


def _word(w: str) -> str:
    w = w.lower()
    w = PTB_ESCAPES.get(w, w)
    return w.replace("\\/", "/").replace("\\*", "*")


def parse_tree(line: str, n_classes: int = 5) -> Example:
    """One PTB tree → Example. Raises ValueError(reason) for a malformed tree."""
    # split on ASCII blanks only: the treebank has tokens with a no-break space inside ("8\xa01\/2")
    toks = re.findall(r"\(|\)|[^ \t\r\n()]+", line)
    if not toks:
        raise ValueError("empty line")
    words: list[str] = []
    spans: list[tuple[int, int, int]] = []  # (start, end, label) of every node, in closing order (root last)
    stack: list[list] = []  # [label, start]
    i, done = 0, False
    while i < len(toks):
        t = toks[i]
        if done:
            raise ValueError("text after the end of the tree")
        if t == "(":
            if i + 1 >= len(toks) or toks[i + 1] in "()":
                raise ValueError("a node without a label")
            lab = toks[i + 1]
            if not re.fullmatch(r"-?\d+", lab):
                raise ValueError(f"label {lab!r} is not an integer")
            if not 0 <= int(lab) < n_classes:
                raise ValueError(f"label outside the classes 0..{n_classes - 1}")
            stack.append([int(lab), len(words)])
            i += 2
            if i < len(toks) and toks[i] not in "()":  # a leaf: (label word)
                words.append(_word(toks[i]))
                i += 1
        elif t == ")":
            if not stack:
                raise ValueError("unbalanced parentheses")
            lab, start = stack.pop()
            if len(words) == start:
                raise ValueError("empty phrase")
            spans.append((start, len(words), lab))
            done = not stack
            i += 1
        else:
            raise ValueError("a word outside any node")
    if stack:
        raise ValueError("unbalanced parentheses")
    if not words:
        raise ValueError("empty sentence")
    phrases = [(tuple(words[a:b]), lab) for a, b, lab in spans]
    return Example(words, spans[-1][2], phrases)


_TOKEN = re.compile(r"n't|'[a-z]+|[a-z0-9]+(?:[-./][a-z0-9]+)*(?=n't)|[a-z0-9]+(?:[-./][a-z0-9]+)*|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-cased PTB-like tokens: words (with inner hyphens), clitics ('s, n't) and punctuation apart."""
    return _TOKEN.findall(text.lower())


def read_ptb(path: str | Path, n_classes: int = 5, name: str = "") -> Split:
    path = Path(path)
    out, skipped = [], Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            out.append(parse_tree(line, n_classes))
        except ValueError as e:
            skipped[str(e)] += 1
    return Split(name or path.stem, out, display_path(path), skipped)


def read_tsv(path: str | Path, n_classes: int = 5, name: str = "") -> Split:
    """`label<TAB>sentence` lines (a `.csv` file: `label,sentence`); a header line `label...` is ignored."""
    path = Path(path)
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    out, skipped = [], Counter()
    for k, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
        if not line.strip():
            continue
        lab, s, text = line.partition(sep)
        lab = lab.strip().strip('"')
        if k == 0 and lab.lower() == "label":
            continue
        text = text.strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1].replace('""', '"')
        if not s:
            skipped["no separator between label and sentence"] += 1
        elif not re.fullmatch(r"-?\d+", lab):
            skipped["label is not an integer"] += 1
        elif not 0 <= int(lab) < n_classes:
            skipped[f"label outside the classes 0..{n_classes - 1}"] += 1
        elif not tokenize(text):
            skipped["empty sentence"] += 1
        else:
            toks = tokenize(text)
            out.append(Example(toks, int(lab), [(tuple(toks), int(lab))]))
    return Split(name or path.stem, out, display_path(path), skipped)


def read_split(path: str | Path, n_classes: int = 5, name: str = "") -> Split:
    path = Path(path)
    if path.suffix.lower() in (".tsv", ".csv"):
        return read_tsv(path, n_classes, name)
    return read_ptb(path, n_classes, name)


def _find(folder: Path, stem: str) -> Path | None:
    for ext in (".txt", ".tsv", ".csv"):
        if (folder / f"{stem}{ext}").is_file():
            return folder / f"{stem}{ext}"
    return None


def load_sentiment(data_dir: str = "", n_classes: int = 5, dev_fraction: float = 0.1, seed: int = 0) -> dict[str, Split]:
    """{"train", "dev"[, "test"]} splits. `data_dir`: a folder with train/dev[/test] as .txt (PTB trees), .tsv
    or .csv, or one .tsv/.csv file (a stratified `dev_fraction` of it becomes dev); empty = ../shared/data/sst5."""
    if not data_dir:
        root = shared_data_dir()
        if root is None or not (root / "sst5").is_dir():
            raise UserError("no sentiment data: pass --data-dir (a folder with train.txt/dev.txt PTB trees, or a label<TAB>sentence .tsv)")
        folder = root / "sst5"
    else:
        folder = Path(data_dir).expanduser()
    if folder.is_file():
        from tamrin.data.dataset import stratified_split

        full = read_split(folder, n_classes, "train")
        _usable(full)
        tr, dv = stratified_split(full.labels, dev_fraction, seed)
        ex = full.examples
        return {"train": Split("train", [ex[i] for i in sorted(tr)], full.source, full.skipped),
                "dev": Split("dev", [ex[i] for i in sorted(dv)], f"{full.source} (held out {dev_fraction:.0%})")}
    if not folder.is_dir():
        raise UserError(f"sentiment data: no such file or folder: {folder}")
    splits = {}
    for stem in ("train", "dev", "test"):
        p = _find(folder, stem)
        if p is None and stem == "dev":
            p = _find(folder, "validation")
        if p is not None:
            splits[stem] = read_split(p, n_classes, stem)
    if "train" not in splits or "dev" not in splits:
        raise UserError(f"sentiment data: {folder} needs train and dev files (.txt PTB trees, .tsv or .csv); found {sorted(splits) or 'none'}")
    for s in splits.values():
        _usable(s)
    return splits


def _usable(s: Split) -> None:
    if not s.examples:
        why = "; ".join(f"{n} × {r}" for r, n in s.skipped.most_common()) or "the file is empty"
        raise UserError(f"sentiment data: no usable line in {s.source} ({why})")


class Vocab:
    """Words seen at least `min_count` times in training; index 0 is padding, 1 the unknown word."""

    def __init__(self, sentences, min_count: int = 1):
        counts = Counter(w for s in sentences for w in s)
        self.itos = [PAD, UNK] + sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.min_count = min_count

    def __len__(self) -> int:
        return len(self.itos)

    def ids(self, tokens) -> list[int]:
        return [self.stoi.get(w, 1) for w in tokens]

    def unknown_rate(self, sentences) -> float:
        toks = [w for s in sentences for w in s]
        return sum(w not in self.stoi for w in toks) / max(1, len(toks))


def encode(vocab: Vocab, sentences, max_len: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (N, T) int64 with 0 = padding, and the lengths (N,). `max_len` > 0 truncates."""
    ids = [vocab.ids(s)[: max_len or None] for s in sentences]
    lengths = torch.tensor([len(i) for i in ids], dtype=torch.long)
    x = torch.zeros(len(ids), int(lengths.max()) if len(ids) else 1, dtype=torch.long)
    for k, row in enumerate(ids):
        x[k, : len(row)] = torch.tensor(row, dtype=torch.long)
    return x, lengths


def bucket_batches(lengths, batch_size: int, seed: int, epoch: int, pool: int = 50) -> list[torch.Tensor]:
    """Length-bucketed batches of one epoch: shuffle, sort each pool of `pool` batches by length, cut, shuffle the
    batches. Similar lengths in a batch → little padding; the number of batches is the same every epoch."""
    lengths = torch.as_tensor(lengths)
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    perm = torch.randperm(len(lengths), generator=g)
    chunk = batch_size * pool
    batches = []
    for i in range(0, len(perm), chunk):
        part = perm[i:i + chunk]
        part = part[torch.argsort(lengths[part], stable=True)]
        batches += list(part.split(batch_size))
    order = torch.randperm(len(batches), generator=g)
    return [batches[k] for k in order]
