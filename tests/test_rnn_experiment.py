"""rnn-sentiment: padding invariance of the torch models, the softmax-call count (1 vs n) measured with hooks,
hw4_t3_measurement, the report's generated sentences, and the experiment end to end on a user's TSV files."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from tamrin.errors import UserError
from tamrin.experiment_runner import run_experiment
from tamrin.experiments import _rnn_text as TX
from tamrin.experiments._rnn_hw import count_softmax_per_sentence, unroll
from tamrin.experiments._rnn_models import ModelSpec, build_model
from tamrin.experiments._rnn_report import accuracy_by_length, confident_examples
from tamrin.experiments.rnn_sentiment import Config, hw4_t3_measurement
from tamrin.registry import get
from tamrin.report.sections import load_sections

torch.set_num_threads(1)


@pytest.mark.parametrize("name", ["bow", "rnn", "lstm", "gru", "bilstm", "lstm-mean", "bilstm-mean"])
def test_padding_never_changes_a_prediction(name):
    torch.manual_seed(0)
    model = build_model(ModelSpec.parse(name), 20, 5, 8, 6, dropout=0.5).eval()
    short = torch.tensor([[3, 4, 5]])
    batch = torch.tensor([[3, 4, 5, 0, 0, 0, 0], [6, 7, 8, 9, 10, 11, 12], [2, 0, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        alone, inside = model(short), model(batch)[:1]
        more_padding = model(torch.cat([batch, torch.zeros(3, 5, dtype=torch.long)], 1))
    torch.testing.assert_close(alone, inside, rtol=0, atol=1e-6)
    torch.testing.assert_close(more_padding, model(batch), rtol=0, atol=1e-6)


def test_model_names_parse_and_bad_names_fail():
    assert ModelSpec.parse("bilstm-mean@phrase") == ModelSpec("bilstm", "mean", "phrase")
    assert ModelSpec.parse("lstm").name == "lstm" and ModelSpec.parse("gru@phrase").name == "gru@phrase"
    for bad in ("transformer", "lstm-max", "lstm@word"):
        with pytest.raises(UserError, match="kind one of"):
            ModelSpec.parse(bad)
    with pytest.raises(UserError, match="listed twice"):
        Config(models=["lstm", "lstm"]).validate()
    with pytest.raises(UserError, match="class_names"):
        Config(n_classes=3).validate()


def test_hw4_t3_measurement_counts_with_hooks_fast_and_without_data(monkeypatch):
    monkeypatch.setenv("TAMRIN_SHARED", "/nonexistent")  # no data file may be needed
    t0 = time.perf_counter()
    m = hw4_t3_measurement(seed=3)
    assert time.perf_counter() - t0 < 5
    n = len(m["sentence"].split())
    assert m["n_words"] == n == 7 and m["softmax_calls_many_to_one"] == 1 and m["softmax_calls_tagger"] == n
    assert m["n_classes"] == 5 and len(m["prob_sums"]) == 1 and abs(m["prob_sums"][0] - 1) < 1e-6
    assert len(m["prob_sums_tagger"]) == n and all(abs(s - 1) < 1e-6 for s in m["prob_sums_tagger"])
    assert m["inputs_per_step"][0].endswith("h_0 = 0 (the initial state)")
    for t, word in enumerate(m["sentence"].split(), 1):
        assert f"x_{t} = embedding({word!r})" in m["inputs_per_step"][t - 1]
    assert json.loads(json.dumps(m)) == m  # plain python values


@pytest.mark.parametrize("kind,n", [("rnn", 3), ("lstm", 9), ("gru", 1)])
def test_unrolled_counts_follow_the_sentence_length(kind, n):
    """The counts are measured: they change with n and agree with the packed batch path."""
    torch.manual_seed(1)
    model = build_model(ModelSpec(kind), 30, 5, 8, 6, dropout=0.0)
    itos = [f"w{i}" for i in range(30)]
    ids = list(range(2, 2 + n))
    u = unroll(model, ids, itos)
    assert u["rnn_calls"] == n and u["softmax_calls_many_to_one"] == 1 and u["softmax_calls_tagger"] == n
    assert [s["word"] for s in u["steps"]] == itos[2:2 + n] and u["packed_vs_unrolled_max_diff"] < 1e-6
    assert all(s["h_prev"].startswith(f"h_{s['t'] - 1} (the output") for s in u["steps"][1:])
    cnt = count_softmax_per_sentence(model, torch.randint(1, 30, (37, 5)), batch_size=10)
    assert cnt["softmax_module_calls"] == 4 and cnt["distributions"] == 37 and cnt["distributions_per_sentence"] == 1.0
    assert cnt["n_classes"] == 5 and cnt["max_abs_sum_minus_1"] < 1e-6


def test_report_sentences_follow_the_numbers():
    assert "meets the target" in TX.target_sentence("lstm", 0.45, 0.42)
    assert "does not meet" in TX.target_sentence("lstm", 0.40, 0.42) and "-2.00%" in TX.target_sentence("lstm", 0.40, 0.42)
    lines = TX.comparisons({"lstm": 0.40, "lstm@phrase": 0.45, "rnn": 0.40, "bow": 0.41, "bilstm": 0.398})
    assert any(line.startswith("lstm: training on every labelled phrase is better than") for line in lines)
    assert any(line.startswith("The LSTM is about as good as the vanilla RNN") for line in lines)
    assert any(line.startswith("The bidirectional LSTM is about as good as") for line in lines)
    assert "word order, which only the recurrent model sees, is worth something" in lines[-1]
    worse = TX.comparisons({"lstm": 0.30, "bow": 0.40})
    assert "worse than" in worse[0] and "bag of words is ahead" in worse[0]
    tie = TX.comparisons({"lstm": 0.401, "bow": 0.40})
    assert "gains nothing measurable" in tie[0]
    assert "ONE output" in TX.hw4_sentence(7, 1, 7, 5, [1.0], "x")
    assert "differ from the textbook" in TX.hw4_sentence(7, 2, 7, 5, [1.0, 1.0], "x")
    bins = [{"bin": "1-10", "n": 5, "acc": 0.6}, {"bin": "11-20", "n": 0, "acc": float("nan")}, {"bin": "31+", "n": 4, "acc": 0.3}]
    assert "is lower on the longest" in TX.length_sentence("m", bins)
    assert "is higher on the longest" in TX.length_sentence("m", [bins[2], bins[0]])
    assert "too few" in TX.length_sentence("m", bins[1:2])
    assert "above chance" in TX.numpy_sentence(0.3, 0.6, 5) and "over-fitting" in TX.numpy_sentence(0.3, 0.6, 5)
    assert "near chance" in TX.numpy_sentence(0.21, 0.22, 5) and "over-fitting" not in TX.numpy_sentence(0.21, 0.22, 5)


def test_length_bins_and_confident_examples():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    y, lengths = np.array([0, 0, 1, 1]), np.array([3, 12, 25, 40])
    assert [b["acc"] for b in accuracy_by_length(probs, y, lengths)] == [1.0, 0.0, 0.0, 1.0]
    right, wrong = confident_examples(probs, y, [["a"], ["b"], ["c"], ["d"]], ["neg", "pos"], 5)
    assert [r[0] for r in right] == ["a", "d"] and [r[0] for r in wrong] == ["b", "c"] and wrong[0][1:] == ["neg", "pos", 0.8]


def _tsv(path, n, seed):
    rng = np.random.default_rng(seed)
    words = {0: "awful dreadful", 1: "dull bad", 2: "plain okay", 3: "nice good", 4: "superb wonderful"}
    lines = [f"{c}\tthe film is {' '.join(rng.permutation(words[c].split()))} {'really ' * int(rng.integers(0, 3))}."
             for c in rng.integers(0, 5, n)]
    path.write_text("\n".join(lines + ["9\tout of range label", "x\tnot a label"]) + "\n")


def test_experiment_end_to_end_on_user_tsv_files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _tsv(data / "train.tsv", 150, 0), _tsv(data / "dev.tsv", 40, 1), _tsv(data / "test.tsv", 40, 2)
    cfg = Config.smoke()
    cfg.data_dir = str(data)
    cfg.models = ["bow", "rnn", "lstm-mean@phrase"]
    cfg.train_fraction = 1.0
    out = run_experiment(get("rnn-sentiment"), cfg, tmp_path / "runs", pdf=False)
    res = json.loads((out / "results.json").read_text())
    assert [m["model"] for m in res["models"]] == ["bow", "rnn", "lstm-mean@phrase", "numpy-rnn"]
    assert all("test_acc" in m and 0 <= m["dev_acc"] <= 1 for m in res["models"])
    assert res["models"][0]["train_examples"] == 150
    hw = json.loads((out / "hw4_t3.json").read_text())
    assert hw["unrolled"]["softmax_calls_many_to_one"] == 1 and hw["dev_count"]["distributions_per_sentence"] == 1
    _, sections = load_sections(out / "sections.json")
    titles = [s.title for s in sections]
    assert any(t.endswith("on test") for t in titles)
    tags = [getattr(b, "tag", "") for s in sections for b in s.blocks]
    assert {"confusion:train", "confusion:validation", "confusion:test"} <= set(tags)  # found by tag (issue #16)
    text = json.dumps([vars(b) for s in sections for b in s.blocks], default=str)
    assert "label outside the classes 0..4" in text and "label is not an integer" in text
    assert (out / "metrics_test.json").exists() and (out / "figures" / "rnn_unrolled.png").exists()


def test_fit_uses_the_given_batches_every_epoch():
    from tamrin.train import TrainConfig, fit

    seen = []

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(1, 2)

        def forward(self, x):
            if self.training:
                seen.append(x[:, 0].long().tolist())
            return self.lin(x)

    x = torch.arange(10.0)[:, None]
    y = torch.tensor([0, 1] * 5)
    plan = {1: [torch.tensor([9, 8, 7]), torch.tensor([0, 1])], 2: [torch.tensor([2, 3, 4, 5, 6]), torch.tensor([1])]}
    cfg = TrainConfig(epochs=2, batch_size=4, optimizer="adam", lr=1e-2, progress=False, channels_last=False)
    res = fit(Spy(), (x, y), None, cfg, batches=lambda epoch: plan[epoch])
    assert seen == [[9, 8, 7], [0, 1], [2, 3, 4, 5, 6], [1]] and len(res.history) == 2


def test_textbook_inputs_check_reads_the_recorded_steps():
    from tamrin.experiments._rnn_report import _textbook_inputs

    assert _textbook_inputs(hw4_t3_measurement()["inputs_per_step"])
    assert not _textbook_inputs(["step 1: x_1 = embedding('a'), a state that is not the previous step's output"])
    assert not _textbook_inputs([])
