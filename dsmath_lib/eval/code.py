"""The code benchmark harness: complete each task's function, run its tests in the sandbox, pass@1.

    from dsmath_lib.eval.code import evaluate_code
    from dsmath_lib.synth.code import code_benchmark
    tasks = code_benchmark(seed=0, n=200)
    passed = evaluate_code(tasks, generate_fn)          # list[bool], one per task
    sum(passed) / len(passed)                           # pass@1 (greedy)

`generate_fn(prompts, stop) -> list[str]` is the same callable as the math harness's
(dsmath_lib.eval.prompting.GenerateFn): the model continues the raw prompt (a def line and docstring,
no chat tokens: the code benchmark tests base models, paper Tables 6-7) and stops at CODE_STOP, the
strings that begin something other than the function's body. The model sees the prompt without its final
newline (`model_prompt`): our byte-level BPE merges a newline with the next line's indentation into one
token, so a prompt that ends in a bare newline leaves the model at a token boundary that in training only
ever precedes an unindented line, and it starts a new `def` instead of the body (measured at tiny scale:
pass@1 0% with the newline, see the test). The completion is cut at the first stop
string (even when the generator ignored them) and at the first line that is not indented, then
`prompt + body + tests` runs in the sandbox (dsmath_lib.eval.sandbox: a separate process with time,
memory and process limits and no network); a task passes when that program exits cleanly, i.e. every
assert held. Like HumanEval's harness this trusts a clean exit: a body that calls sys.exit(0) would pass
(a reward for RL on code would need a sentinel printed after the asserts).

Departures from the paper: HumanEval and MBPP are replaced by the generated synth-code tasks
(dsmath_lib.synth.code) at the laptop scales; the stop strings follow HumanEval's harness ("\\ndef",
"\\nclass", "\\nif", "\\nprint", "\\n#") with "\\nassert" added because our corpus files end in assert lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from dsmath_lib.chat import EOS
from dsmath_lib.eval.prompting import GenerateFn
from dsmath_lib.eval.sandbox import run_many
from dsmath_lib.synth.code import CodeTask

CODE_STOP = ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\nassert", "\n#", EOS]


def function_body(completion: str, stop: Sequence[str] = tuple(CODE_STOP)) -> str:
    """The body the model wrote: `completion` up to the first stop string, and up to the first line that is
    not indented (a top-level statement is not part of the function, whatever the stop strings missed).

    >>> function_body("    return n + 1\\n\\ndef other():\\n    pass")
    '    return n + 1\\n'
    >>> function_body("    return n + 1\\nimport sys\\nsys.exit(0)")
    '    return n + 1\\n'
    """
    ends = [i for i in (completion.find(s) for s in stop) if i >= 0]
    text = completion[:min(ends)] if ends else completion
    lines = text.splitlines(keepends=True)
    top = next((i for i, line in enumerate(lines) if line.strip() and not line[0].isspace()), len(lines))
    return "".join(lines[:top])


def model_prompt(task: CodeTask) -> str:
    """The prompt the model continues: the task's prompt without its final newline (see the module docstring).

    >>> from dsmath_lib.synth.code import CodeTask
    >>> model_prompt(CodeTask("t/0", "def f(n):" + chr(10), "f", "", "", 1, "affine"))
    'def f(n):'
    """
    return task.prompt.rstrip("\n")


def code_program(task: CodeTask, completion: str) -> str:
    """What the sandbox runs: the prompt, the model's body, then the task's asserts.

    >>> from dsmath_lib.synth.code import CodeTask
    >>> task = CodeTask("t/0", "def inc(n):\\n", "inc", "assert inc(1) == 2\\n", "    return n + 1\\n", 1, "affine")
    >>> print(code_program(task, "    return n + 1"), end="")
    def inc(n):
        return n + 1
    assert inc(1) == 2
    """
    body = completion.lstrip("\n")  # the model's completion starts with the newline model_prompt left out
    body = body if body.endswith("\n") else body + "\n"
    return task.prompt + body + task.tests


def code_attempts(tasks: Sequence[CodeTask], generate_fn: GenerateFn, timeout_s: float = 5.0, workers: int = 2,
                  progress: bool = True) -> list[tuple[str, bool]]:
    """Greedy completion of every task (one generate_fn call), run with its tests: (the body the model wrote,
    whether the tests passed) for each task."""
    completions = generate_fn([model_prompt(task) for task in tasks], list(CODE_STOP))
    if len(completions) != len(tasks):
        raise ValueError(f"evaluate_code: generate_fn returned {len(completions)} completions for {len(tasks)} "
                         "prompts")
    bodies = [function_body(text) for text in completions]
    programs = [code_program(task, body) for task, body in zip(tasks, bodies)]
    results = run_many(programs, timeout_s=timeout_s, workers=workers, progress=progress)
    return [(body, result.ok) for body, result in zip(bodies, results)]


def evaluate_code(tasks: Sequence[CodeTask], generate_fn: GenerateFn, timeout_s: float = 5.0, workers: int = 2,
                  progress: bool = True) -> list[bool]:
    """Whether each task passed its tests after greedy completion (code_attempts without the bodies)."""
    return [ok for _, ok in code_attempts(tasks, generate_fn, timeout_s, workers, progress)]
