"""dsmath_lib.fixture: the real-smoke scale's pretrained-format checkpoint, SFT data and seed pages; and the
params files of real-smoke and gpu, which differ only in values."""

import json

import pytest
import yaml
from transformers import AutoModelForCausalLM

from dsmath_lib import fixture, paths
from dsmath_lib.eval.checkpoints import load_checkpoint
from dsmath_lib.sft import read_examples
from dsmath_lib.model import build_model
from dsmath_lib.config import load_params, params_path
from dsmath_lib.chat import ASSISTANT, EOS, PAD, USER
from dsmath_lib.tokenizer import load_tokenizer

SMALL = fixture.SETTINGS | {"tokenizer_texts": 200, "sft_examples": 20, "seed_pages": 10}


@pytest.fixture(scope="module")
def built(shared_data, tmp_path_factory):
    return fixture.build(tmp_path_factory.mktemp("fixture") / "out", SMALL)


def test_the_checkpoint_loads_with_from_pretrained_and_its_tokenizer_round_trips(built):
    model = AutoModelForCausalLM.from_pretrained(built / "model")
    assert model.config.model_type == "llama" and model.config.hidden_size == SMALL["hidden_size"]
    tok = load_tokenizer(built / "model")  # a checkpoint's folder gets our tokens, as a hub tokenizer does
    text = "Mia has 1,234 marbles: $\\frac{3}{4}$ of them are red.\n"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text
    assert tok.bos_token == fixture.BOS and tok.pad_token == PAD
    assert all(t in tok.get_vocab() for t in (USER, ASSISTANT, EOS))
    assert len(tok(f"{USER}{EOS}", add_special_tokens=False)["input_ids"]) == 2  # never split


def test_the_checkpoint_is_loaded_as_a_hub_model_is(built):
    params = load_params(params_path("real-smoke"))
    tok = load_tokenizer(built / "model")
    model = build_model(params.model.__class__(pretrained=str(built / "model")), tok)
    assert model.get_input_embeddings().num_embeddings == len(tok)  # rows for our added tokens
    evaluated, tok2 = load_checkpoint(str(built / "model"))  # eval.pretrained: a local folder, not a hub name
    assert evaluated.get_input_embeddings().num_embeddings == len(tok2) == len(tok)


def test_sft_data_is_in_the_hub_chat_format_and_reads_back(built):
    first = json.loads((built / "sft.jsonl").read_text().splitlines()[0])
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    assert first["messages"][1]["content"].endswith("$\\boxed{72}$.")
    assert len(read_examples(str(built / "sft.jsonl"), 5)) == 5


def test_seed_pages_are_train_solutions_as_pages(built):
    pages = [json.loads(line) for line in (built / "seed_pages.jsonl").read_text().splitlines()]
    assert len(pages) == SMALL["seed_pages"] and all(p["url"] and p["text"] for p in pages)
    assert {p["url"].split("/")[2] for p in pages} == {"gsm8k-train.invalid", "math500-train.invalid"}


def test_a_second_build_does_nothing(built):
    before = (built / "model" / "model.safetensors").stat().st_mtime_ns
    fixture.build(built, SMALL)
    assert (built / "model" / "model.safetensors").stat().st_mtime_ns == before


def _keys(d, prefix=""):
    out = set()
    for key, value in d.items():
        out.add(prefix + key)
        if isinstance(value, dict):
            out |= _keys(value, f"{prefix}{key}.")
    return out


def test_real_smoke_and_gpu_params_have_the_same_keys():
    real, gpu = (yaml.safe_load((paths.PARAMS_DIR / f"{s}.yaml").read_text()) for s in ("real-smoke", "gpu"))
    assert _keys(real) == _keys(gpu), sorted(_keys(real) ^ _keys(gpu))


def test_the_command_line_builds_into_out(shared_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fixture, "SETTINGS", SMALL)
    monkeypatch.setattr(fixture.build, "__defaults__", (SMALL,))
    assert fixture.main(["--out", str(tmp_path / "fx")]) == 0
    assert (tmp_path / "fx" / "model" / "tokenizer.json").is_file() and str(tmp_path / "fx") in capsys.readouterr().out


@pytest.mark.parametrize("module", ["dsmath_lib.fixture", "dsmath_lib.data", "dsmath_lib.paths",
                                    "dsmath_lib.corpus.inputs", "dsmath_lib.eval.prompting",
                                    "dsmath_lib.problem"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
