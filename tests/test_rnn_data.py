"""tamrin.data.sst: the PTB-tree reader, user TSV/CSV files, vocabulary, padding and length buckets, bad input."""
from __future__ import annotations

import pytest
import torch

from tamrin.data.sst import Vocab, bucket_batches, encode, load_sentiment, parse_tree, read_ptb, read_tsv, tokenize
from tamrin.errors import UserError

TREE = "(3 (2 (2 The) (2 film)) (4 (2 -LRB-) (4 (3 very) (4 good)) (2 -RRB-) (2 co-writer\\/director)))"


def test_tree_sentence_root_label_and_every_phrase():
    ex = parse_tree(TREE)
    assert ex.tokens == ["the", "film", "(", "very", "good", ")", "co-writer/director"]
    assert ex.label == 3
    phrases = dict(ex.phrases)
    assert phrases[("the", "film")] == 2
    assert phrases[("very", "good")] == 4 and phrases[("good",)] == 4 and phrases[("very",)] == 3
    assert phrases[("(", "very", "good", ")", "co-writer/director")] == 4
    assert phrases[tuple(ex.tokens)] == 3
    # 7 leaves + 4 inner nodes (the film / very good / the bracketed phrase / root)
    assert len(ex.phrases) == 11


def test_no_break_space_inside_a_token_is_kept():
    ex = parse_tree("(2 (2 8\xa01\\/2) (2 stars))")
    assert ex.tokens == ["8\xa01/2", "stars"]


@pytest.mark.parametrize("line,reason", [
    ("(3 (2 a) (2 b)", "unbalanced"), ("(3 (2 a)) (2 b))", "after the end"), ("(3 (2 a) (7 b))", "outside the classes"),
    ("(x (2 a))", "not an integer"), ("(3 (2 ))", "empty phrase"), ("(3 (2 a b))", "outside any node"), ("(3 )", "empty"),
    ("((2 a))", "without a label"),
])
def test_malformed_trees_raise_a_reason(line, reason):
    with pytest.raises(ValueError, match=reason):
        parse_tree(line)


def test_reader_skips_bad_lines_with_counts(tmp_path):
    p = tmp_path / "train.txt"
    p.write_text(TREE + "\n(3 (2 a) (2 b)\n\n(9 (2 x))\n(1 (1 bad) (2 film))\n(3 (2 a) (2 b)\n")
    s = read_ptb(p)
    assert [e.label for e in s.examples] == [3, 1]
    assert s.skipped["unbalanced parentheses"] == 2 and s.skipped["label outside the classes 0..4"] == 1


def test_user_tsv_and_csv(tmp_path):
    t = tmp_path / "mine.tsv"
    t.write_text("label\tsentence\n4\tA truly GREAT film!\n0\tIt wasn't good.\n7\tout of range\nx\tnot a label\n2\t   \nno tab here\n")
    s = read_tsv(t)
    assert [e.tokens for e in s.examples] == [["a", "truly", "great", "film", "!"], ["it", "was", "n't", "good", "."]]
    assert s.skipped == {"label outside the classes 0..4": 1, "label is not an integer": 1, "empty sentence": 1,
                         "no separator between label and sentence": 1}
    c = tmp_path / "mine.csv"
    c.write_text('3,"fine, really"\n1,meh\n')
    assert [(e.label, e.tokens) for e in read_tsv(c).examples] == [(3, ["fine", ",", "really"]), (1, ["meh"])]


def test_tokenizer_splits_clitics_and_punctuation():
    assert tokenize("Don't miss Spider-Man's (2002) charm...") == ["do", "n't", "miss", "spider-man", "'s", "(", "2002", ")",
                                                                     "charm", ".", ".", "."]


def test_folder_with_test_split_and_single_file_with_held_out_dev(tmp_path):
    for name in ("train", "dev", "test"):
        (tmp_path / f"{name}.txt").write_text(TREE + "\n(1 (1 bad) (2 film))\n")
    s = load_sentiment(str(tmp_path))
    assert sorted(s) == ["dev", "test", "train"] and len(s["test"].examples) == 2
    f = tmp_path / "one.tsv"
    f.write_text("".join(f"{i % 5}\tsentence number {i}\n" for i in range(50)))
    s = load_sentiment(str(f), dev_fraction=0.2)
    assert len(s["train"].examples) == 40 and len(s["dev"].examples) == 10
    assert sorted(s["dev"].labels.tolist()) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]  # stratified


def test_bad_inputs_are_one_clear_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file or folder"):
        load_sentiment(str(tmp_path / "nope"))
    (tmp_path / "train.txt").write_text(TREE + "\n")
    with pytest.raises(UserError, match="needs train and dev"):
        load_sentiment(str(tmp_path))
    (tmp_path / "dev.txt").write_text("(3 (2 a)\n(8 (2 b))\n")
    with pytest.raises(UserError, match=r"no usable line in .*dev.txt \(1 × unbalanced parentheses; 1 × label outside"):
        load_sentiment(str(tmp_path))
    bad = tmp_path / "bad.tsv"
    bad.write_text("\n\n")
    with pytest.raises(UserError, match="the file is empty"):
        load_sentiment(str(bad))


def test_vocabulary_min_count_unknown_and_padding():
    v = Vocab([["a", "b", "a"], ["c", "a", "b"]], min_count=2)
    assert v.itos == ["<pad>", "<unk>", "a", "b"]
    assert v.ids(["a", "zzz", "c"]) == [2, 1, 1]
    assert v.unknown_rate([["a", "zzz"]]) == 0.5
    x, lengths = encode(v, [["a", "b", "a"], ["b"], ["q", "a"]])
    assert x.tolist() == [[2, 3, 2], [3, 0, 0], [1, 2, 0]] and lengths.tolist() == [3, 1, 2]
    x, lengths = encode(v, [["a", "b", "a"]], max_len=2)
    assert x.tolist() == [[2, 3]] and lengths.tolist() == [2]


def test_length_buckets_cover_every_index_once_with_little_padding():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 60, (1000,), generator=g)
    b1, b2 = bucket_batches(lengths, 16, seed=0, epoch=1, pool=10), bucket_batches(lengths, 16, seed=0, epoch=2, pool=10)
    assert len(b1) == len(b2) == 63
    assert sorted(torch.cat(b1).tolist()) == list(range(1000))
    assert all(torch.equal(a, b) for a, b in zip(b1, bucket_batches(lengths, 16, seed=0, epoch=1, pool=10)))  # deterministic
    assert not all(torch.equal(a, b) for a, b in zip(b1, b2))  # reshuffled each epoch
    pad = sum(int(lengths[b].max() * len(b) - lengths[b].sum()) for b in b1)
    rand = sum(int(lengths[b].max() * len(b) - lengths[b].sum()) for b in torch.randperm(1000, generator=g).split(16))
    assert pad < 0.25 * rand
