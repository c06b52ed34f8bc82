"""The embedded math world (dsmath_lib.synth): determinism, programs, solutions, levels and disjoint splits."""

import dataclasses
import keyword
import math
import os
import random
import re
import subprocess
import sys
import time
from fractions import Fraction

import pytest

from dsmath_lib.config import WorldConfig
from dsmath_lib.problem import Problem
from dsmath_lib.synth import (BENCHMARKS, FAMILIES, SCENARIOS, benchmark, check_disjoint, generate_world)
from dsmath_lib.synth.arithmetic import NAMES
from dsmath_lib.synth.assemble import PRINT_FRACTION, answer_line, latex_number, run_program
from dsmath_lib.synth.overlap import words

TINY = WorldConfig()  # the tiny scale's world: 20,000 train problems per benchmark, 500 test
EQUATION = re.compile(r"(\d+) ([-+*/]) (\d+) = (\d+)")
LATEX_ANSWER = re.compile(r"-?(\d+|\\frac\{\d+\}\{\d+\})")


@pytest.fixture(scope="module")
def world():
    start = time.perf_counter()
    w = generate_world(TINY)
    w.stats["seconds"] = time.perf_counter() - start
    return w


@pytest.fixture(scope="module")
def many():
    """3,000 test-split problems per benchmark (a larger n_test than any scale uses)."""
    cfg = dataclasses.replace(TINY, n_test=3000)
    return {name: benchmark(cfg, name) for name in BENCHMARKS}


def test_same_config_gives_identical_problems():
    cfg = WorldConfig(seed=3, n_train=300, n_test=40)
    a, b = generate_world(cfg), generate_world(cfg)
    assert [p.to_json() for p in a.train] == [p.to_json() for p in b.train]
    assert {k: [p.to_json() for p in v] for k, v in a.test.items()} == \
        {k: [p.to_json() for p in v] for k, v in b.test.items()}
    assert a.test["synth-gsm"] == benchmark(cfg, "synth-gsm")


def test_seed_changes_problems_and_splits_do_not_depend_on_global_rng():
    random.seed(1)
    a = benchmark(WorldConfig(seed=0, n_test=20), "synth-gsm")
    random.seed(2)
    b = benchmark(WorldConfig(seed=0, n_test=20), "synth-gsm")
    c = benchmark(WorldConfig(seed=1, n_test=20), "synth-gsm")
    assert a == b
    assert [p.question for p in a] != [p.question for p in c]


def test_identical_across_processes_and_hash_seeds():
    """String hashing is salted per process; nothing the world writes may depend on it."""
    code = ("import hashlib; from dsmath_lib.config import WorldConfig; from dsmath_lib.synth import generate_world; "
            "w = generate_world(WorldConfig(n_train=200, n_test=30)); "
            "print(hashlib.sha256(''.join(p.to_json() for p in w.train).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(digests) == 1 and len(digests.pop().strip()) == 64


def test_more_train_extends_the_same_train_split():
    small = generate_world(WorldConfig(n_train=100, n_test=30))
    large = generate_world(WorldConfig(n_train=250, n_test=30))
    for name in BENCHMARKS:
        first = [p for p in small.train if p.benchmark == name]
        assert first == [p for p in large.train if p.benchmark == name][:100]


def test_programs_print_exactly_the_answer_on_thousands(many):
    for name, problems in many.items():
        assert len(problems) == 3000
        wrong = [(p.id, p.answer, run_program(p.program)) for p in problems if run_program(p.program) != p.answer]
        assert not wrong, f"{name}: {len(wrong)} programs disagree, e.g. {wrong[:3]}"


def test_solutions_one_step_per_line_and_final_answer_line(many):
    for problems in many.values():
        for p in problems:
            lines = p.solution.split("\n")
            assert all(line.strip() == line and line for line in lines), p.id
            assert lines[-1] == answer_line(p.answer, p.answer_kind), p.id
            assert p.answer in lines[-1]
            assert len(lines) >= 2, p.id


def test_gsm_steps_are_checked_arithmetic_one_per_level(many):
    for p in many["synth-gsm"]:
        steps = p.solution.split("\n")[:-1]
        assert len(steps) == p.level, p.id  # level = number of arithmetic steps
        for line in steps:
            (a, op, b, c), = EQUATION.findall(line)
            a, b, c = int(a), int(b), int(c)
            assert {"+": a + b, "-": a - b, "*": a * b, "/": a // b}[op] == c and (op != "/" or a % b == 0), line
            assert c > 0, line  # no negative or zero intermediates
        assert EQUATION.findall(steps[-1])[0][3] == p.answer


def test_answer_kinds_and_formats(many):
    for p in many["synth-gsm"]:
        assert p.answer_kind == "numeric" and p.answer.isdigit() and int(p.answer) > 0, p.id
    for p in many["synth-math"]:
        assert p.answer_kind == "latex" and LATEX_ANSWER.fullmatch(p.answer), p.id
        for num, den in re.findall(r"\\frac\{(\d+)\}\{(\d+)\}", p.answer):
            assert math.gcd(int(num), int(den)) == 1 and int(den) > 1, p.id  # lowest terms
        assert f"\\boxed{{{p.answer}}}" in p.solution.split("\n")[-1]


def test_levels_cover_the_configured_range_evenly(many):
    for name, top, families in (("synth-gsm", TINY.gsm_max_steps, SCENARIOS),
                                ("synth-math", TINY.math_levels, FAMILIES)):
        cells = {}
        for p in many[name]:
            cells[(p.subject, p.level)] = cells.get((p.subject, p.level), 0) + 1
        assert set(cells) == {(f, level) for f in families for level in range(1, top + 1)}
        assert max(cells.values()) - min(cells.values()) <= 1  # the fixed cycle balances every cell


def test_level_one_numbers_are_small_and_grow_with_level(many):
    def numbers(p: Problem) -> list[int]:
        return [int(n) for n in re.findall(r"\d+", p.question)]
    level1 = [n for p in many["synth-gsm"] if p.level == 1 for n in numbers(p)]
    level5 = [n for p in many["synth-gsm"] if p.level == 5 for n in numbers(p)]
    assert max(level1) <= 20  # cap(1) = max(10, 99 * 1 / 5)
    assert sum(level5) / len(level5) > 2 * sum(level1) / len(level1)


def test_other_knob_values_work():
    cfg = WorldConfig(n_test=70, gsm_max_steps=7, max_operand=12, math_levels=3)
    gsm, math_ = benchmark(cfg, "synth-gsm"), benchmark(cfg, "synth-math")
    assert {p.level for p in gsm} == set(range(1, 8)) and {p.level for p in math_} == {1, 2, 3}
    assert all(run_program(p.program) == p.answer for p in gsm + math_)
    with pytest.raises(ValueError, match="world.math_levels"):
        benchmark(WorldConfig(math_levels=6), "synth-math")
    with pytest.raises(ValueError, match="unknown synth benchmark 'gsm8k'"):
        benchmark(cfg, "gsm8k")


def test_every_family_and_level_looks_sane():
    rng = random.Random(7)
    for generators, top in ((SCENARIOS, 5), (FAMILIES, 5)):
        for family, generate in generators.items():
            for level in range(1, top + 1):
                p = generate(rng, level)
                assert (p.subject, p.level) == (family, level)
                assert p.question.endswith("?") or p.question.endswith("."), p.question
                if generators is SCENARIOS:  # no template field left unfilled
                    assert "{" not in p.question + p.solution and "}" not in p.question + p.solution, p.question
                assert re.search(r"\d", p.question) and len(words(p.question)) >= 4, p.question
                assert run_program(p.program) == p.answer
    assert not [n for n, _ in NAMES if keyword.iskeyword(n.lower())]  # ages programs use names as variables


def test_latex_number_matches_the_printing_snippet():
    for q in (Fraction(-6, 8), Fraction(5, 1), Fraction(0), Fraction(7, 3), Fraction(-4, 2)):
        program = "\n".join(["from fractions import Fraction", f"r = Fraction({q.numerator}, {q.denominator})",
                             *PRINT_FRACTION])
        assert run_program(program) == latex_number(q)


def test_world_splits_are_disjoint_and_fast(world):
    assert len(world.train) == 2 * TINY.n_train
    assert {k: len(v) for k, v in world.test.items()} == {"synth-gsm": TINY.n_test, "synth-math": TINY.n_test}
    test = [p for probs in world.test.values() for p in probs]
    check_disjoint(world.train, test, n=TINY.ngram)
    ids = [p.id for p in world.train + test]
    assert len(set(ids)) == len(ids) and world.train[0].id == "synth-gsm/train/0"
    for name in BENCHMARKS:  # overlaps are rare, so rejecting them barely changes the train distribution
        assert world.stats[f"{name}/train/rejected"] < 0.1 * TINY.n_train, world.stats
    assert world.stats["seconds"] < 60, world.stats  # measured ~6 s on 2 cores


def test_disjointness_by_an_independent_check(world):
    """Re-derive the rule with plain sets, not OverlapIndex: no test 10-gram or short question in train."""
    def toks(text):
        return [w.strip("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") for w in text.lower().split()]
    train_grams, train_text = set(), []
    for p in world.train:
        t = [w for w in toks(p.question) if w]
        train_grams.update(hash(" ".join(t[i:i + 10])) for i in range(len(t) - 9))
        train_text.append(" " + " ".join(t) + " ")
    joined = "\n".join(train_text)
    for p in (q for probs in world.test.values() for q in probs):
        t = [w for w in toks(p.question) if w]
        if len(t) < 10:
            assert f" {' '.join(t)} " not in joined, p.id
        else:
            assert not any(hash(" ".join(t[i:i + 10])) in train_grams for i in range(len(t) - 9)), p.id


def _problem(pid, question):
    return Problem(pid, "synth-gsm", question, "x", "1", "numeric")


def test_check_disjoint_catches_planted_overlaps(world):
    test = world.test["synth-gsm"][:50] + world.test["synth-math"][:50]
    train = world.train[:2000]
    check_disjoint(train, test)
    exact = _problem("planted/0", test[7].question)
    with pytest.raises(ValueError, match=r"planted/0 is exactly test problem synth-gsm/test/7"):
        check_disjoint(train + [exact], test)
    # a train text that quotes 10 consecutive words of a test question inside other words
    window = " ".join(test[3].question.split()[2:12])
    quoted = _problem("planted/1", f"Yesterday we read that {window} and then we left.")
    with pytest.raises(ValueError, match=r"planted/1 shares the 10-gram .* synth-gsm/test/3"):
        check_disjoint(train + [quoted], test)
    # case and punctuation do not hide a copy
    shouting = _problem("planted/2", test[60].question.upper().replace("?", " !"))
    with pytest.raises(ValueError, match="planted/2"):
        check_disjoint(train + [shouting], test)
    # a short test question (< 10 words) is caught when it appears whole inside a train question
    short = next(p for p in world.test["synth-math"] if len(words(p.question)) < 10)
    inside = _problem("planted/3", f"Homework: {short.question} Show your work.")
    with pytest.raises(ValueError, match=f"planted/3 contains the whole of short test problem {short.id}"):
        check_disjoint(train + [inside], test + [short])
    # nine shared words are not an overlap
    nine = " ".join(words(test[3].question)[2:11])
    check_disjoint(train + [_problem("planted/4", f"Qqq {nine} qqq.")], test)
