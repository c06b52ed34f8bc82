"""The code world: benchmark balance and determinism, reference solutions in the sandbox, the corpus and its
disjointness from the benchmark, the overlap keys and the files."""

import ast
import collections
import doctest
import json
import random

import pytest

from dsmath_lib.corpus.inputs import read_corpus
from dsmath_lib.eval.sandbox import run_many
from dsmath_lib.synth import code
from dsmath_lib.synth.code import (FAMILIES, CodeIndex, CodeTask, Spec, check_code_disjoint, code_benchmark,
                                   code_corpus, code_keys, example_call, function_sources, make_task, module,
                                   read_code_tasks, script, write_code_world)


@pytest.fixture(scope="module")
def tasks():
    return code_benchmark(0, 200)


@pytest.fixture(scope="module")
def corpus(tasks):
    return code_corpus(0, 300, tasks)


def test_benchmark_is_deterministic_balanced_and_distinct(tasks):
    assert tasks == code_benchmark(0, 200) and tasks != code_benchmark(1, 200)
    assert code_benchmark(0, 50) == tasks[:50]
    assert [t.id for t in tasks[:2]] == ["synth-code/test/0", "synth-code/test/1"]
    cells = collections.Counter((t.family, t.level) for t in tasks)
    assert set(cells) == {(f, level) for f, (_, level) in FAMILIES.items()}
    assert max(cells.values()) - min(cells.values()) <= 1
    assert collections.Counter(t.level for t in tasks[:48]) == {1: 12, 2: 12, 3: 12, 4: 12}
    assert len({t.prompt for t in tasks}) == len({t.solution + t.entry_point for t in tasks}) == len(tasks)
    for i, t in enumerate(tasks):  # no task overlaps an earlier one
        assert CodeIndex(tasks[:i]).find(t.source) is None, t.id


def test_task_shape(tasks):
    for t in tasks:
        assert t.prompt.startswith(f"def {t.entry_point}(") and t.prompt.endswith('    """\n')
        assert t.prompt.count(">>> ") == 1
        body = [line for line in t.solution.splitlines()]
        assert 1 <= len(body) <= 6 and all(line.startswith("    ") for line in body)
        asserts = t.tests.splitlines()
        assert len(asserts) == code.N_TESTS and all(a.startswith(f"assert {t.entry_point}(") for a in asserts)
        ast.parse(t.source + t.tests)


def test_reference_solutions_pass_and_wrong_bodies_fail(tasks):
    programs = [t.prompt + t.solution + t.tests for t in tasks]
    assert all(r.ok for r in run_many(programs, workers=2, progress=False))
    # a body returning the docstring example's value fails: the tests tell bodies apart
    sample = tasks[::20]
    constant = [t.prompt + f"    return {t.prompt.split('>>> ')[1].splitlines()[1].strip()}\n" + t.tests
                for t in sample]
    assert not any(r.ok for r in run_many(constant, workers=2, progress=False))


def test_docstring_example_is_right(tasks):
    for t in tasks[:24]:
        expected = t.prompt.split(">>> ")[1].splitlines()[1].strip()
        namespace = {}
        exec(t.source, namespace)  # our own reference code
        assert repr(eval(example_call(t), namespace)) == expected


def test_make_task_drops_weak_tests():
    spec = Spec("zero_value", ["n"], "Return 0.", ["return n * 0"], [(1,), (2,), (3,), (4,), (5,)])
    assert make_task(spec, "affine", 1) is None
    spec = Spec("inc_value", ["n"], "Add 1.", ["return n + 1"], [(1,), (2,), (3,), (4,), (5,)])
    assert make_task(spec, "affine", 1).tests.splitlines()[0] == "assert inc_value(2) == 3"


def test_families_draw_valid_functions():
    rng = random.Random(3)
    for family, (make, level) in FAMILIES.items():
        for _ in range(20):
            spec = make(rng)
            assert len(spec.calls) == code.N_TESTS + 1 and len(set(map(repr, spec.calls))) == len(spec.calls)
            assert 1 <= len(spec.body) <= 6, family
            ast.parse(f"def {spec.name}({', '.join(spec.args)}):\n" + "".join(f"    {b}\n" for b in spec.body))


def test_corpus_is_deterministic_runs_and_has_both_kinds(tasks, corpus):
    assert corpus == code_corpus(0, 300, tasks) and code_corpus(0, 100, tasks) == corpus[:100]
    assert code_corpus(1, 50, tasks) != corpus[:50]
    modules = [f for f in corpus if f.startswith("def ")]
    scripts = [f for f in corpus if not f.startswith("def ")]
    assert 0.15 < len(scripts) / len(corpus) < 0.35
    assert all('if __name__ == "__main__":' in f and 2 <= len(function_sources(f)) <= 4 for f in modules)
    assert not any("def " in f for f in scripts)
    for f in corpus:
        compile(f, "<corpus file>", "exec")
    sample = random.Random(0).sample(corpus, 20)
    assert all(r.ok for r in run_many(sample, workers=2, progress=False))


def test_corpus_is_disjoint_from_the_benchmark(tasks, corpus):
    check_code_disjoint(corpus, tasks)
    index = CodeIndex(tasks)
    assert not any(index.find(src) for f in corpus for src in function_sources(f))
    # and the check bites: a corpus holding a renamed copy of a task's code is caught
    t = tasks[7]
    renamed = t.source.replace(t.entry_point, "other_name")
    with pytest.raises(ValueError, match=f"corpus file 1, function other_name, is \\(up to names\\) the code of "
                                         f"test task {t.id}"):
        check_code_disjoint([corpus[0], renamed], tasks)


def test_corpus_rejects_overlapping_candidates(tasks):
    """With the benchmark's own stream as the 'train' stream the first functions would be test tasks: the
    corpus must redraw them instead."""
    first = code_benchmark(7, 12)
    files = code_corpus(0, 40, first)
    check_code_disjoint(files, first)


def test_code_keys():
    a = "def f(n):\n    '''Add 3.'''\n    total = n + 3\n    return total\n"
    b = "def g(x):\n    '''Plus three.'''\n    out = x + 3\n    return out\n"
    c = "def f(n):\n    '''Add 3.'''\n    return 3 + n\n"
    ka, kb, kc = code_keys(a), code_keys(b), code_keys(c)
    assert ka[1] == kb[1] and ka[0] != kb[0] and ka[2] != kb[2]
    assert ka[0] == kc[0] and ka[2] == kc[2] and ka[1] != kc[1]
    assert ka[0] == ("prompt", "def f(n):\n    '''Add 3.'''\n")
    assert code_keys("def f(xs):\n    return len(xs)\n")[1] == ("code", "def f(_0):\n    return len(_0)")
    with pytest.raises(ValueError, match="not a function"):
        code_keys("x = 1\n")


def test_code_index_finds_each_kind_of_overlap(tasks):
    t = tasks[3]
    index = CodeIndex([t])
    assert index.find(t.source) == f"has the prompt of test task {t.id}"
    reworded = t.source.replace(t.entry_point, "renamed_fn").replace('"""', '"""Reworded. ', 1)
    assert index.find(reworded) == f"is (up to names) the code of test task {t.id}"
    constants = code_keys(t.source)[2][2]
    same_signature = f"def {t.entry_point}(q):\n    return {list(constants)!r}\n"
    assert index.find(same_signature) == f"has the name and constants of test task {t.id}"
    assert index.find(f"def renamed_fn(q):\n    return {list(constants)!r}\n") is None


def test_function_sources_and_module_layout(tasks):
    text = module(random.Random(1), tasks[:3])
    assert function_sources(text) == [t.source.rstrip("\n") for t in tasks[:3]]
    main = text.split('if __name__ == "__main__":\n')[1].splitlines()
    assert len(main) == 3 and all(line.startswith(("    assert ", "    print(")) for line in main)


def test_script_prints():
    text = script(random.Random(5))
    assert "print(" in text and "def " not in text
    compile(text, "<script>", "exec")


def test_write_and_read_back(tmp_path, tasks, corpus):
    files = write_code_world(tmp_path, tasks, corpus[:20])
    assert files == {"synth-code": tmp_path / "test" / "synth-code.jsonl",
                     "code_corpus": tmp_path / "code_corpus.jsonl"}
    assert read_code_tasks(files["synth-code"]) == tasks
    pages = read_corpus(files["code_corpus"])
    assert [p.text for p in pages] == corpus[:20] and pages[3].url == "https://code.example/3.py"
    assert pages[0].metadata["n_tokens"] == len(corpus[0].split())
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("bad", ["{not json", '{"id": "x"}', "[1]", "3"])
def test_read_code_tasks_names_file_and_line(tmp_path, tasks, bad):
    path = tmp_path / "tasks.jsonl"
    path.write_text(tasks[0].to_json() + "\n" + bad + "\n")
    with pytest.raises(ValueError, match="tasks.jsonl:2: not a code task"):
        read_code_tasks(path)


def test_task_json_round_trip(tasks):
    assert CodeTask.from_dict(json.loads(tasks[5].to_json())) == tasks[5]


def test_docstring_examples():
    result = doctest.testmod(code)
    assert result.attempted > 0 and result.failed == 0
