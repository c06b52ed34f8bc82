"""The code benchmark harness against a scripted fake model: passing, wrong, broken and looping bodies."""

import doctest

import pytest

from dsmath_lib.eval import code as harness
from dsmath_lib.eval.code import CODE_STOP, code_attempts, code_program, evaluate_code, function_body, model_prompt
from dsmath_lib.synth.code import code_benchmark


@pytest.fixture(scope="module")
def tasks():
    return code_benchmark(0, 12)


class Scripted:
    """A fake generate_fn answering each prompt with a fixed completion; records the calls."""

    def __init__(self, completions):
        self.completions, self.calls = completions, []

    def __call__(self, prompts, stop):
        self.calls.append((list(prompts), list(stop)))
        return [self.completions[p] for p in prompts]


def test_correct_wrong_broken_and_looping_bodies(tasks):
    right, wrong, broken, looping = tasks[:4]
    model = Scripted({
        # completions start with the newline model_prompt leaves out; text after a stop is cut
        model_prompt(right): "\n" + right.solution + "\n\ndef helper():\n    return 0\n",
        model_prompt(wrong): "\n    return None\n",
        model_prompt(broken): "\n    return (\n",
        model_prompt(looping): "\n    while True:\n        pass\n",
    })
    passed = evaluate_code([right, wrong, broken, looping], model, timeout_s=1.0, progress=False)
    assert passed == [True, False, False, False]
    (prompts, stop), = model.calls
    assert prompts == [t.prompt.rstrip("\n") for t in (right, wrong, broken, looping)] and stop == CODE_STOP
    assert not any(p.endswith("\n") for p in prompts)  # our BPE merges a newline with the next indentation


def test_code_attempts_return_the_body_that_ran(tasks):
    right, wrong = tasks[:2]
    model = Scripted({model_prompt(right): "\n" + right.solution + "\ndef other():\n", model_prompt(wrong): "\n    return None\n"})
    done = code_attempts([right, wrong], model, timeout_s=1.0, progress=False)
    assert done == [(function_body("\n" + right.solution), True), ("\n    return None\n", False)]


def test_reference_bodies_all_pass(tasks):
    model = Scripted({model_prompt(t): "\n" + t.solution for t in tasks})
    assert evaluate_code(tasks, model, progress=False) == [True] * len(tasks)


def test_top_level_code_after_the_body_is_dropped(tasks):
    """A completion that goes on at top level (not a stop string) must not run before the tests."""
    task = tasks[0]
    model = Scripted({model_prompt(task): "\n    return None\nimport sys\nsys.exit(0)\n"})
    assert evaluate_code([task], model, progress=False) == [False]


def test_wrong_number_of_completions_is_an_error(tasks):
    with pytest.raises(ValueError, match="returned 0 completions for 2 prompts"):
        evaluate_code(tasks[:2], lambda prompts, stop: [], progress=False)


def test_function_body():
    assert function_body("    return 1\nif __name__ == '__main__':\n    print(1)") == "    return 1"
    assert function_body("    x = 1\n\n    # fine\n    return x\n") == "    x = 1\n\n    # fine\n    return x\n"
    assert function_body("    x = 1\n# top\n", ["\n#"]) == "    x = 1"
    assert function_body("    return 1<|eos|>junk") == "    return 1"
    assert function_body("    return 1\nx = 2\n", []) == "    return 1\n"


def test_code_program_adds_a_newline_before_the_tests(tasks):
    task = tasks[0]
    assert code_program(task, task.solution.rstrip("\n")) == task.prompt + task.solution + task.tests


def test_docstring_examples():
    result = doctest.testmod(harness)
    assert result.attempted > 0 and result.failed == 0
