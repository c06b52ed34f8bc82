"""Tests for dsmath_lib.model: the size table, building, forward, atomic save/load, seeded init."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import doctest

import pytest
import torch

from dsmath_lib import model as M
from dsmath_lib.config import ModelConfig
from dsmath_lib.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer([f"Tom has {i} apples and {i * 3} pears.\n" for i in range(300)], vocab_size=300)


@pytest.fixture(scope="module")
def smoke(tok):
    return M.build_model(ModelConfig(size="smoke", context_length=64), tok, seed=0)


def test_sizes_grow_and_derive_coupled_numbers():
    sizes = [M.MODEL_SIZES[n] for n in ("smoke", "tiny-s", "tiny", "tiny-l")]
    for s in sizes:
        assert s.n_heads * M.HEAD_DIM == s.d_model
        assert s.intermediate_size % 32 == 0 and s.intermediate_size >= 8 * s.d_model / 3
    assert [s.d_model for s in sizes] == sorted(s.d_model for s in sizes)
    lrs = [s.lr for s in sizes]
    assert lrs == sorted(lrs, reverse=True)  # wider models get smaller peak learning rates
    with pytest.raises(KeyError, match="huge"):
        M.model_size("huge")


def test_parameter_counts_in_range(tok):
    # with the study's 1024-token vocabulary: smoke a few hundred K, tiny sizes ~1M to ~10M
    bounds = {"smoke": (1e5, 5e5), "tiny-s": (0.5e6, 2e6), "tiny": (1e6, 10e6), "tiny-l": (3e6, 10e6)}
    for name, (lo, hi) in bounds.items():
        model = M.build_model(ModelConfig(size=name), tok)
        n = M.count_parameters(model, include_embeddings=False) + 1024 * M.MODEL_SIZES[name].d_model
        assert lo <= n <= hi, (name, n)


def test_config_follows_tokenizer_and_cfg(tok, smoke):
    c = smoke.config
    assert c.vocab_size == len(tok) and c.max_position_embeddings == 64
    assert (c.pad_token_id, c.bos_token_id, c.eos_token_id) == (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id)
    assert smoke.get_output_embeddings().weight is smoke.get_input_embeddings().weight  # tied


def test_forward_shapes_and_loss(tok, smoke):
    ids = torch.tensor(tok(["Tom has 12 apples", "Tom has 7 pears."], padding=True)["input_ids"])
    out = smoke(input_ids=ids, labels=ids)
    assert out.logits.shape == (2, ids.shape[1], len(tok))
    assert torch.isfinite(out.loss) and out.loss.item() > 0


def test_seeded_init_repeats_and_leaves_global_rng_alone(tok):
    cfg = ModelConfig(size="smoke")
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = M.build_model(cfg, tok, seed=5)
    after = torch.rand(1)
    b = M.build_model(cfg, tok, seed=5)
    c = M.build_model(cfg, tok, seed=6)
    assert torch.equal(before, after)
    wa, wb, wc = (m.model.layers[0].mlp.up_proj.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_save_load_round_trip_is_exact(tok, smoke, tmp_path):
    path = tmp_path / "ckpt" / "smoke"
    M.save_model(smoke, tok, path)
    M.save_model(smoke, tok, path)  # overwriting an existing checkpoint also works
    assert sorted(p.name for p in path.parent.iterdir()) == ["smoke"]  # no temporary folders left
    loaded, loaded_tok = M.load_model(path)
    ids = torch.tensor([tok("Tom has 345 apples")["input_ids"]])
    smoke.eval()
    with torch.no_grad():
        assert torch.equal(smoke(ids).logits, loaded(ids).logits)
    assert loaded_tok("Tom 12")["input_ids"] == tok("Tom 12")["input_ids"]
    assert M.count_parameters(loaded) == M.count_parameters(smoke)
    assert M.read_card(path) == {}


def test_card_saved_beside_weights(tok, smoke, tmp_path):
    card = {"name": "init", "notebook": "00_world", "stage": "init", "description": "untrained"}
    path = M.save_model(smoke, tok, tmp_path / "init", card=card)
    assert M.read_card(path) == card


def test_pretrained_path_and_clear_errors(tok, smoke, tmp_path):
    M.save_model(smoke, tok, tmp_path / "base")
    again = M.build_model(ModelConfig(pretrained=str(tmp_path / "base")), tok)
    assert M.count_parameters(again) == M.count_parameters(smoke)
    with pytest.raises(OSError, match="no-such-org/no-such-model"):
        M.build_model(ModelConfig(pretrained="no-such-org/no-such-model"), tok)
    with pytest.raises(FileNotFoundError, match="config.json"):
        M.load_model(tmp_path / "missing")


def test_docstring_examples():
    result = doctest.testmod(M)
    assert result.attempted > 0 and result.failed == 0
