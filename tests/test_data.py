"""Benchmark loaders: record formats, malformed input naming file and line, the real GSM8K / MATH files."""

import json

import pytest

from dsmath_lib.data import BenchmarkError, difference, gsm8k_problem, load_benchmark, math_problem, read_jsonl
from dsmath_lib.problem import Problem


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_gsm8k_record_drops_calculator_notes_and_ends_with_the_answer_line():
    record = {"question": "Q?", "answer": "He has 2*3=<<2*3=6>>6 cups.\nSo 6+1=<<6+1=7>>7\n#### 1,007"}
    p = gsm8k_problem(record, "gsm8k/test/4")
    assert p.solution == "He has 2*3=6 cups.\nSo 6+1=7\nThe answer is 1,007."
    assert (p.answer, p.answer_kind, p.id, p.benchmark) == ("1,007", "numeric", "gsm8k/test/4", "gsm8k")


def test_math_records_in_both_layouts():
    original = {"problem": "P", "solution": "so $\\boxed{\\frac{1}{\\sqrt{2}}}$.", "level": "Level 4",
                "type": "Geometry", "idx": 3}
    prm800k = {"problem": "P", "solution": "... \\boxed{6}", "answer": "6", "subject": "Algebra", "level": 2,
               "unique_id": "test/algebra/1.json"}
    a, b = math_problem(original, "math/test/0"), math_problem(prm800k, "math500/test/0", "math500")
    assert (a.answer, a.level, a.subject, a.answer_kind) == ("\\frac{1}{\\sqrt{2}}", 4, "Geometry", "latex")
    assert (b.answer, b.level, b.subject, b.benchmark) == ("6", 2, "Algebra", "math500")
    assert math_problem(dict(original, level="Level ?"), "x").level is None


def test_read_jsonl_detects_each_format(tmp_path):
    dumped = Problem("s/0", "synth-gsm", "Q", "The answer is 3.", "3", "numeric", program="print(3)", level=1)
    path = write_lines(tmp_path / "mixed.jsonl", [
        json.dumps({"question": "Q1", "answer": "x\n#### 5"}),
        "",
        json.dumps({"problem": "Q2", "solution": "\\boxed{2}", "level": "Level 1", "type": "Algebra"}),
        dumped.to_json(),
    ])
    problems = read_jsonl(path, "mine", "dev")
    assert [p.answer for p in problems] == ["5", "2", "3"]
    assert [p.id for p in problems[:2]] == ["mine/dev/0", "mine/dev/1"]
    assert problems[2] == dumped


@pytest.mark.parametrize("bad_line, reason", [
    ('{"question": "Q", "answer": "no final line"}', "####"),
    ('{"problem": "Q", "solution": "no box here"}', "boxed"),
    ('{"question": "Q", "answer": "x\\n#### 1"', "Expecting"),  # truncated JSON
    ('{"text": "neither format"}', "match no known format"),
    ('[1, 2]', "JSON object"),
])
def test_malformed_record_names_file_and_line(tmp_path, bad_line, reason):
    good = json.dumps({"question": "Q", "answer": "x\n#### 1"})
    path = write_lines(tmp_path / "bench.jsonl", [good, good, bad_line])
    with pytest.raises(BenchmarkError, match=rf"bench\.jsonl:3: malformed gsm8k record") as err:
        read_jsonl(path, "gsm8k")
    assert reason in str(err.value)


def test_missing_or_empty_file_is_an_error(tmp_path):
    with pytest.raises(BenchmarkError, match="nope.jsonl: benchmark file not found"):
        read_jsonl(tmp_path / "nope.jsonl", "gsm8k")
    with pytest.raises(BenchmarkError, match="empty.jsonl: no records"):
        read_jsonl(write_lines(tmp_path / "empty.jsonl", [""]), "gsm8k")


def test_unknown_names_and_splits_are_errors():
    with pytest.raises(BenchmarkError, match="no local file for 'math' split 'train'"):
        load_benchmark("math", split="train")
    with pytest.raises(BenchmarkError, match="no hub dataset known"):
        load_benchmark("svamp", source="hub")
    with pytest.raises(BenchmarkError, match="need world="):
        load_benchmark("synth-gsm")


def test_hub_loading_offline_fails_clearly(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BenchmarkError, match=r"cannot load gsm8k split 'test' from the hub \(openai/gsm8k\)"
                                             r".*source=<path>"):
        load_benchmark("gsm8k", source="hub")


def test_local_path_source(tmp_path):
    path = write_lines(tmp_path / "g.jsonl", [json.dumps({"question": f"Q{i}", "answer": f"#### {i}"})
                                             for i in range(5)])
    problems = load_benchmark("gsm8k", source=path, limit=3)
    assert [p.answer for p in problems] == ["0", "1", "2"]
    assert problems[0].solution == "The answer is 0."


def test_synth_benchmarks_load_through_the_same_call():
    synth = pytest.importorskip("dsmath_lib.synth")
    from dsmath_lib.config import WorldConfig

    world = WorldConfig(n_test=6)
    problems = load_benchmark("synth-math", world=world)
    assert problems == synth.benchmark(world, "synth-math")
    assert all(isinstance(p, Problem) and p.benchmark == "synth-math" for p in problems)


def test_real_files_load_with_their_fields(shared_data):
    sizes = {("gsm8k", "train"): 7473, ("gsm8k", "test"): 1319, ("math", "test"): 5000, ("math500", "test"): 500}
    for (name, split), size in sizes.items():
        problems = load_benchmark(name, split)
        assert len(problems) == size, (name, split)
        assert len({p.id for p in problems}) == size
        assert all(p.question and p.solution and p.answer for p in problems)
    math500 = load_benchmark("math500")
    assert {p.level for p in math500} == {1, 2, 3, 4, 5}
    assert len({p.subject for p in math500}) == 7
    assert math500[0].answer == "\\left( 3, \\frac{\\pi}{2} \\right)"
    gsm = load_benchmark("gsm8k")
    assert gsm[0].solution.endswith("The answer is 18.") and "<<" not in gsm[0].solution


def test_math500_train_is_the_prm800k_split_disjoint_from_its_test_set(shared_data):
    train, test = load_benchmark("math500", "train"), load_benchmark("math500", "test")
    assert (len(train), len(test)) == (4500, 500)
    assert not {p.question for p in train} & {p.question for p in test}
    assert {p.question for p in train} | {p.question for p in test} == {p.question for p in load_benchmark("math")}
    assert train[0].id == "math500/train/0" and len({p.id for p in train}) == 4500
    assert all(p.benchmark == "math500" and p.answer for p in train)


def test_difference_keeps_order_and_renumbers():
    a = [Problem(f"m/test/{i}", "m", f"q{i}", "s", "1", "latex") for i in range(4)]
    kept = difference(a, [a[1], a[3]], "m", "train")
    assert [(p.id, p.question) for p in kept] == [("m/train/0", "q0"), ("m/train/1", "q2")]
