"""Tests for dsmath_lib.tokenizer: digit splitting, lossless round trips, special tokens, save/load."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import random

import pytest

from dsmath_lib import chat as C
from dsmath_lib import tokenizer as T


def _texts(n=300, seed=0):
    rng = random.Random(seed)
    words = ["apples", "Tom", "has", "pears", "total", "\\frac", "x^2", "solve", "def", "print"]
    out = []
    for _ in range(n):
        a, b = rng.randint(0, 999), rng.randint(1, 99)
        tail = " ".join(rng.sample(words, 4))
        out.append(f"{rng.choice(words)} {a} + {b} = {a + b}. $\\frac{{{a}}}{{{b}}}$ {tail}\n")
    return out


@pytest.fixture(scope="module")
def tok():
    return T.train_tokenizer(_texts(), vocab_size=400)


def test_digits_one_token_each(tok):
    assert len(tok("12345", add_special_tokens=False)["input_ids"]) == 5
    # a number inside text is still split into single digits
    pieces = tok.convert_ids_to_tokens(tok("total 2024 apples", add_special_tokens=False)["input_ids"])
    assert [p for p in pieces if any(c.isdigit() for c in p)] == ["2", "0", "2", "4"]


@pytest.mark.parametrize(
    "text",
    [
        "Tom has 12 apples.\n\nHe eats 3.",
        "$\\frac{1}{2} + \\sqrt{x^2}$ = \\boxed{42}",
        "  leading spaces\tand tabs\r\n",
        "unicode: héllo, 日本語, emoji 😀, x² ٣",
        "def f(x):\n    return x * 2\n",
        "",
    ],
)
def test_decode_encode_is_identity(tok, text):
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    assert tok.decode(tok(text)["input_ids"], skip_special_tokens=True) == text


def test_bos_prepended_and_ids_set(tok):
    assert tok("abc")["input_ids"][0] == tok.bos_token_id
    assert (tok.pad_token, tok.bos_token, tok.eos_token) == (C.PAD, C.BOS, C.EOS)
    assert len({tok.pad_token_id, tok.bos_token_id, tok.eos_token_id}) == 3
    assert len(tok) <= 400


def test_special_tokens_are_atomic_and_survive_decode(tok):
    text = f"{C.USER}What is 2+2?{C.ASSISTANT}{C.CODE}print(2+2){C.CODE_END}{C.OUTPUT}4{C.OUTPUT_END}{C.EOS}"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    for special in C.SPECIAL_TOKENS[1:]:
        if special in text:
            assert tok.convert_tokens_to_ids(special) in ids
    assert tok.decode(ids) == text


def test_training_is_deterministic(tok):
    again = T.train_tokenizer(_texts(), vocab_size=400)
    assert again.get_vocab() == tok.get_vocab()


def test_save_load_round_trip(tok, tmp_path):
    tok.save_pretrained(tmp_path / "tok")
    loaded = T.load_tokenizer(tmp_path / "tok")
    text = f"{C.USER}Tom has 345 apples{C.ASSISTANT}"
    assert loaded(text)["input_ids"] == tok(text)["input_ids"]
    assert (loaded.pad_token_id, loaded.eos_token_id) == (tok.pad_token_id, tok.eos_token_id)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="vocab_size"):
        T.train_tokenizer(["abc"], vocab_size=100)
    with pytest.raises(ValueError, match="empty"):
        T.train_tokenizer(iter([]), vocab_size=300)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        T.load_tokenizer(tmp_path / "empty")
    with pytest.raises(OSError, match="no-such-org/no-such-tokenizer"):
        T.load_tokenizer("no-such-org/no-such-tokenizer")


def test_docstring_examples():
    import doctest

    result = doctest.testmod(T)
    assert result.attempted > 0 and result.failed == 0
