"""Prompting modes against a scripted fake model: prompt formats, stops, PoT and the tool-integrated loop."""

import pytest

from dsmath_lib.chat import ASSISTANT, CODE, CODE_END, COT_SUFFIX, EOS, OUTPUT, OUTPUT_END, USER, chat_prompt
from dsmath_lib.eval import prompting
from dsmath_lib.eval.prompting import FEW_SHOT_STOP, extract_program, grade_attempts, prompts_for, select_shots, solve
from dsmath_lib.problem import Problem


class ScriptedModel:
    """A fake generate_fn: `respond(prompt, call_index)` gives each continuation; every call is recorded."""

    def __init__(self, respond):
        self.respond, self.calls = respond, []

    def __call__(self, prompts, stop):
        self.calls.append((list(prompts), list(stop)))
        return [self.respond(p, len(self.calls) - 1) for p in prompts]


def problem(i, answer="42", kind="numeric", program=None):
    return Problem(f"t/test/{i}", "t", f"What is question {i}?", f"Step.\nThe answer is {answer}.", answer, kind,
                   program=program)


def test_few_shot_cot():
    train = [problem(100 + i, str(i)) for i in range(10)]
    shots = select_shots(train, 2, seed=1)
    assert shots == select_shots(train, 2, seed=1) and len(set(s.id for s in shots)) == 2
    model = ScriptedModel(lambda p, _: " 6 * 7 = 42.\nThe answer is 42.")
    (attempt,) = solve([problem(0)], model, "cot-fewshot", shots=shots)
    (prompts, stop), = model.calls
    assert stop == FEW_SHOT_STOP
    assert prompts[0] == "".join(f"Question: {s.question}\nAnswer: {s.solution}\n\n" for s in shots) + \
        "Question: What is question 0?\nAnswer:"
    assert attempt.answer == "42" and attempt.output == " 6 * 7 = 42.\nThe answer is 42."
    with pytest.raises(ValueError, match="needs shots"):
        solve([problem(0)], model, "cot-fewshot")


def test_few_shot_cot_reads_the_first_answer_only():
    """A base model that goes on to make up another worked example after its answer is graded on its own
    answer, not on the made-up one's; chat CoT still reads the last answer."""
    rambling = " 6 * 7 = 42.\nTherefore the answer is $42$.\nExample 2. What is 1 + 1?\nThe answer is 2."
    model = ScriptedModel(lambda p, _: rambling)
    (attempt,) = solve([problem(0)], model, "cot-fewshot", shots=[problem(100, "1")])
    assert attempt.answer == "42" and attempt.output == " 6 * 7 = 42.\nTherefore the answer is $42$."
    (chat,) = solve([problem(0)], model, "cot-chat")
    assert chat.answer == "2" and chat.output == rambling


def test_zero_shot_chat_cot_has_no_system_prompt_and_reads_the_box():
    model = ScriptedModel(lambda p, _: "So it is \\boxed{\\frac{1}{2}}." + EOS)  # a stop left in is removed
    (attempt,) = solve([problem(0, "\\frac{1}{2}", "latex")], model, "cot-chat")
    assert attempt.prompt == f"{USER}What is question 0?\n{COT_SUFFIX}{ASSISTANT}"
    assert attempt.prompt.startswith(USER) and model.calls[0][1] == [EOS]
    assert attempt.answer == "\\frac{1}{2}" and not attempt.output.endswith(EOS)


def test_samples_are_grouped_per_problem_and_graded():
    answers = {"What is question 0?": ["42", "41"], "What is question 1?": ["7", "7"]}
    model = ScriptedModel(lambda p, _: None)
    model.respond = lambda p, _: f"\\boxed{{{answers[p.split(USER)[1].split(chr(10))[0]].pop(0)}}}"
    problems = [problem(0), problem(1, "7")]
    attempts = solve(problems, model, "cot-chat", samples=2)
    assert [(a.problem_id, a.sample, a.answer) for a in attempts] == [
        ("t/test/0", 0, "42"), ("t/test/0", 1, "41"), ("t/test/1", 0, "7"), ("t/test/1", 1, "7")]
    assert grade_attempts(attempts, problems, progress=False) == [True, False, True, True]


def test_program_of_thought_runs_the_program_in_the_sandbox():
    programs = {0: "```python\nimport math\nprint(math.factorial(5) // 2)\n```", 1: "print(1/0)", 2: "x = 1"}
    model = ScriptedModel(lambda p, _: programs[int(p.split("question ")[1][0])])
    attempts = solve([problem(i) for i in range(3)], model, "pot")
    assert [a.answer for a in attempts] == ["60", None, None]  # printed line; crash; printed nothing
    assert "Please write a Python program" in attempts[0].prompt


def test_few_shot_program_of_thought_needs_programs_else_is_zero_shot():
    shots = [problem(9, "3", program="print(1 + 2)")]
    model = ScriptedModel(lambda p, _: "print(40 + 2)\n")
    (attempt,) = solve([problem(0)], model, "pot", shots=shots)
    assert attempt.prompt.endswith("Question: What is question 0?\nProgram:\n") and "print(1 + 2)" in attempt.prompt
    assert attempt.answer == "42"
    (zero_shot,) = solve([problem(0)], model, "pot", shots=[problem(8)])  # real benchmarks' shots have no programs
    assert zero_shot.prompt == prompts_for([problem(0)], "pot")[0] and "Program:" not in zero_shot.prompt


def test_extract_program():
    assert extract_program("Plan.\n```python\nprint(1)\n```\nThen\n```py\nprint(2)\n```") == "print(2)\n"
    assert extract_program(f"think {CODE}print(3)\n{CODE_END}") == "print(3)\n"
    assert extract_program("print(4)\n```\ntrailing") == "print(4)\n"


def test_tool_integrated_loop_runs_code_and_lets_the_model_continue():
    def respond(prompt, call):
        if call == 0:
            return f"First compute.{CODE}print(2 ** 10)\n"  # the sampler drops the <|/code|> stop
        assert prompt.endswith(f"{CODE}print(2 ** 10)\n{CODE_END}{OUTPUT}1024{OUTPUT_END}")
        return " So the answer is \\boxed{1024}."

    model = ScriptedModel(respond)
    (attempt,) = solve([problem(0, "1024")], model, "tool-chat")
    assert len(model.calls) == 2 and model.calls[0][1] == [CODE_END, EOS]
    assert attempt.executions == 1 and attempt.answer == "1024"
    assert attempt.output == (f"First compute.{CODE}print(2 ** 10)\n{CODE_END}{OUTPUT}1024{OUTPUT_END}"
                              " So the answer is \\boxed{1024}.")


def test_tool_integrated_errors_are_shown_and_executions_are_capped():
    model = ScriptedModel(lambda p, call: f"try {call}{CODE}print(1/0)")  # never stops writing code
    (attempt,) = solve([problem(0)], model, "tool-chat", max_executions=4)
    assert attempt.executions == 4 and len(model.calls) == 5
    assert attempt.output.count(f"{OUTPUT}ZeroDivisionError: division by zero{OUTPUT_END}") == 4
    assert attempt.output.endswith(f"try 4{CODE}print(1/0)")  # the fifth block is not run


def test_tool_integrated_batches_only_unfinished_problems():
    def respond(prompt, call):
        if "question 0" in prompt:
            return "\\boxed{42}"  # answers at once
        return f"{CODE}print(6 * 7)" if call == 0 else "\\boxed{42}"

    model = ScriptedModel(respond)
    attempts = solve([problem(0), problem(1)], model, "tool-chat")
    assert [len(prompts) for prompts, _ in model.calls] == [2, 1]
    assert [(a.executions, a.answer) for a in attempts] == [(0, "42"), (1, "42")]


def test_unknown_mode():
    with pytest.raises(ValueError, match="unknown prompting mode 'cot'"):
        solve([problem(0)], ScriptedModel(lambda p, _: ""), "cot")


def test_chat_prompt_suffix():
    assert chat_prompt("Q", suffix="S") == f"{USER}Q\nS{ASSISTANT}"


def test_grade_attempts_honours_the_grading_timeout(monkeypatch):
    seen = {}

    def fake_grade_many(preds, golds, workers=2, timeout_s=5.0, progress=True):
        seen["timeout_s"] = timeout_s
        return [p == g for p, g in zip(preds, golds)]

    monkeypatch.setattr(prompting, "grade_many", fake_grade_many)
    attempts = solve([problem(0), problem(1, "7")], ScriptedModel(lambda p, _: "\\boxed{42}"), "cot-chat")
    assert grade_attempts(attempts, [problem(0), problem(1, "7")], timeout_s=0.5, progress=False) == [True, False]
    assert seen["timeout_s"] == 0.5


def test_prompts_for_is_what_solve_sends():
    shots = [problem(100 + i, str(i), program=f"print({i})") for i in range(2)]
    for mode, given in (("cot-fewshot", shots), ("cot-chat", ()), ("pot", shots), ("pot", ()), ("tool-chat", ())):
        model = ScriptedModel(lambda p, _: "\\boxed{42}" + CODE_END)
        attempts = solve([problem(0), problem(1)], model, mode, shots=given, max_executions=0)
        assert [a.prompt for a in attempts] == prompting.prompts_for([problem(0), problem(1)], mode, given), mode
    with pytest.raises(ValueError, match="unknown prompting mode"):
        prompting.prompts_for([problem(0)], "cot", ())


def test_tool_rounds_reuse_the_rows_keys_and_values_with_the_same_attempts(monkeypatch):
    """A real model (logits pushed towards <|code|> and <|/code|>, so it opens and closes blocks of garbage
    code) through model_generate_fn: with reuse_prefixes the later rounds start from the cached rows, and
    every attempt is what the rounds without the cache give."""
    import torch

    from dsmath_lib import sampling
    from dsmath_lib.config import ModelConfig
    from dsmath_lib.eval.checkpoints import model_generate_fn
    from dsmath_lib.model import build_model
    from dsmath_lib.tokenizer import train_tokenizer

    caches = []

    class Recorded(sampling.PrefixCache):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            caches.append(self)

    monkeypatch.setattr(sampling, "PrefixCache", Recorded)
    tok = train_tokenizer([f"Tom has {i} apples.\nprint({i} + 3)\n" for i in range(300)], vocab_size=300)
    model = build_model(ModelConfig(size="smoke", context_length=512), tok, seed=0).eval()
    code_ids = torch.tensor(tok.convert_tokens_to_ids([CODE, CODE_END]))

    def towards_code(module, args, out):
        out[..., code_ids] += torch.tensor([3.0, 2.0])
        return out

    model.lm_head.register_forward_hook(towards_code)  # the lean engine calls lm_head: the hook is honoured
    attempts = {}
    for reuse in (False, True):
        fn = model_generate_fn(model, tok, max_new_tokens=24, temperature=1.0, seed=1, progress=False,
                               reuse_prefixes=reuse)
        attempts[reuse] = solve([problem(i) for i in range(6)], fn, "tool-chat", samples=2, max_executions=3)
    assert attempts[True] == attempts[False]
    assert sum(a.executions for a in attempts[True]) >= 6 and any(a.executions >= 2 for a in attempts[True])
    (cache,) = caches  # only the reusing generate_fn made one
    # a block cut by the length limit is run too, but only a row that stopped at <|/code|> is kept
    assert cache.hits >= 3 and cache.reused_tokens > 10 * cache.hits
