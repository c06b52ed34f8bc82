"""SFT examples: the three formats on the world, their layouts against the evaluation harness, and readers."""

import doctest
import json

import pytest

from dsmath_lib.chat import CODE, CODE_END, EOS, OUTPUT, OUTPUT_END, POT_SUFFIX, TOOL_SUFFIX, chat_prompt
from dsmath_lib.config import WorldConfig
from dsmath_lib.eval.grading import extract_answer, grade_many
from dsmath_lib.eval.prompting import grade_attempts, solve
from dsmath_lib.sft import examples as sft_examples
from dsmath_lib.sft.examples import (SFTExample, cot_response, example_from_record, pot_response, read_examples,
                                     response_mask_spans, tool_response, world_examples)
from dsmath_lib.problem import Problem
from dsmath_lib.synth.world import generate_world


@pytest.fixture(scope="module")
def train():
    return generate_world(WorldConfig(n_train=100, n_test=20)).train  # 200 problems, both benchmarks


@pytest.fixture(scope="module")
def examples(train):
    return world_examples(train, ["cot", "pot", "tool"], seed=0)


def test_one_example_per_problem_and_format_shuffled(train, examples):
    assert len(examples) == 3 * len(train)  # every world problem has a program
    assert {(e.problem_id, e.format) for e in examples} == {(p.id, f) for p in train for f in sft_examples.FORMATS}
    assert [e.problem_id for e in examples[:10]] != [p.id for p in train[:10]]
    assert examples == world_examples(train, ["cot", "pot", "tool"], seed=0)
    assert examples != world_examples(train, ["cot", "pot", "tool"], seed=1)
    assert all(e.response.endswith(EOS) and e.response.count(EOS) == 1 for e in examples)


def test_cot_examples_grade_correct(train, examples):
    gold = {p.id: p for p in train}
    cot = [e for e in examples if e.format == "cot"]
    assert len(cot) == len(train)
    answers = [extract_answer(e.response, gold[e.problem_id].answer_kind) for e in cot]
    assert grade_many(answers, [gold[e.problem_id].answer for e in cot], progress=False) == [True] * len(cot)
    assert all(e.prompt == chat_prompt(gold[e.problem_id].question) for e in cot)


def test_tool_outputs_equal_the_answer(train, examples):
    gold = {p.id: p.answer for p in train}
    for e in (e for e in examples if e.format == "tool"):
        output = e.response.split(OUTPUT)[1].split(OUTPUT_END)[0]
        assert output == gold[e.problem_id], e.problem_id
        assert e.prompt.endswith(TOOL_SUFFIX + "<|assistant|>")


def replay(responses):
    """A fake generate_fn that writes a stored response for each prompt, stopping where the harness stops."""
    def generate(prompts, stop):
        out = []
        for prompt in prompts:
            key = next(k for k in responses if prompt.startswith(k))
            written = prompt[len(key):]  # what the model (and harness) already wrote
            rest = responses[key][len(written):]
            cuts = [i + len(s) for s in stop if (i := rest.find(s)) >= 0]
            out.append(rest[:min(cuts)] if cuts else rest)
        return out
    return generate


@pytest.mark.parametrize("fmt,mode", [("cot", "cot-chat"), ("pot", "pot"), ("tool", "tool-chat")])
def test_layout_is_what_the_harness_reads(train, fmt, mode):
    """Replaying the SFT responses through eval.prompting.solve scores every problem correct; in tool mode the
    harness's own run of the program rebuilds exactly the stored response."""
    problems = train[::20]  # both benchmarks, several families
    examples = world_examples(problems, [fmt])
    responses = {e.prompt: e.response for e in examples}
    attempts = solve(problems, replay(responses), mode, workers=2)
    assert grade_attempts(attempts, problems, progress=False) == [True] * len(problems)
    if fmt == "tool":
        by_id = {e.problem_id: e.response for e in examples}
        assert all(a.output + EOS == by_id[a.problem_id] and a.executions == 1 for a in attempts)


def test_pot_prompt_and_fence():
    p = Problem("t/0", "t", "1+1?", "", "2", "numeric", program="x = 1 + 1\nprint(x)")
    (e,) = world_examples([p], ["pot"])
    assert e.prompt == chat_prompt("1+1?", POT_SUFFIX) and e.response == pot_response(p)
    assert e.response == "```python\nx = 1 + 1\nprint(x)\n```" + EOS


def test_problems_without_programs_get_cot_only():
    p = Problem("t/0", "t", "Q?", "Think.\nThe answer is 7.", "7", "numeric")
    assert [e.format for e in world_examples([p], ["cot", "pot", "tool"])] == ["cot"]
    with pytest.raises(ValueError, match="unknown SFT formats"):
        world_examples([p], ["cot", "essay"])


def test_cot_response_keeps_an_existing_box_and_appends_one_otherwise():
    boxed = Problem("m/0", "math", "Q?", "So $x = \\boxed{3}$.", "3", "latex")
    assert cot_response(boxed) == boxed.solution + EOS
    bare = Problem("m/1", "math", "Q?", "Add them: 7", "7", "numeric")
    assert cot_response(bare) == "Add them: 7\nThe answer is \\boxed{7}." + EOS


def test_tool_response_layout():
    p = Problem("t/0", "t", "Q?", "", "\\frac{1}{2}", "latex", program='print("\\\\frac{1}{2}")\n')
    r = tool_response(p, "Compute.")
    assert r == (f"Compute.\n{CODE}print(\"\\\\frac{{1}}{{2}}\")\n{CODE_END}{OUTPUT}\\frac{{1}}{{2}}{OUTPUT_END}\n"
                 f"The answer is \\boxed{{\\frac{{1}}{{2}}}}.{EOS}")


def test_response_mask_spans():
    r = f"a{CODE}x{CODE_END}{OUTPUT}1{OUTPUT_END}b{CODE}y{CODE_END}{OUTPUT}2{OUTPUT_END}c{OUTPUT}cut"
    spans = response_mask_spans(r)
    assert [r[a:b] for a, b in spans] == [f"{OUTPUT}1{OUTPUT_END}", f"{OUTPUT}2{OUTPUT_END}", f"{OUTPUT}cut"]
    assert response_mask_spans("no tools here") == []


def test_read_examples_local_jsonl(tmp_path):
    path = tmp_path / "sft.jsonl"
    stored = SFTExample(chat_prompt("1+1?"), "\\boxed{2}" + EOS, "cot", "w/0")
    lines = [stored.to_json(),
             json.dumps({"prompt": "2+2?", "response": "4"}),
             "",
             json.dumps({"messages": [{"role": "system", "content": "ignored"}, {"role": "user", "content": "3+3?"},
                                      {"role": "assistant", "content": "6"}]})]
    path.write_text("\n".join(lines) + "\n")
    a, b, c = read_examples(str(path))
    assert a == stored
    assert (b.prompt, b.response, b.format, b.problem_id) == ("<|user|>2+2?<|assistant|>", "4" + EOS, "cot",
                                                              f"{path}:2")
    assert (c.prompt, c.response) == ("<|user|>3+3?<|assistant|>", "6" + EOS)
    assert len(read_examples(str(path), limit=2)) == 2


@pytest.mark.parametrize("bad", ['{"prompt": "x"}', "not json", '[1, 2]', '{"messages": [{"role": "user"}]}',
                                 '{"prompt": "x", "response": "y", "format": "essay"}'])
def test_read_examples_names_file_and_line(tmp_path, bad):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"prompt": "a", "response": "b"}) + "\n" + bad + "\n")
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        read_examples(str(path))


def test_hub_name_fails_clearly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="neither a local file nor a loadable hub dataset"):
        read_examples("dsmath-test/no-such-sft-dataset")


def test_example_from_record_rejects_non_objects():
    with pytest.raises(ValueError, match="JSON object"):
        example_from_record([1], "x")


def test_docstring_examples():
    result = doctest.testmod(sft_examples)
    assert result.attempted > 0 and result.failed == 0
