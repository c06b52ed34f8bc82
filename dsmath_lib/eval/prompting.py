"""Prompting modes: few-shot CoT, zero-shot chat CoT, program-of-thought and tool-integrated reasoning.

    from dsmath_lib.eval.prompting import solve, grade_attempts
    attempts = solve(problems, generate_fn, "cot-chat", samples=4)     # 4 samples per problem
    correct = grade_attempts(attempts, problems, timeout_s=5.0)         # list[bool], same order
    attempts[0].prompt, attempts[0].output, attempts[0].answer

The model is any callable `generate_fn(prompts: list[str], stop: list[str]) -> list[str]` returning one
continuation per prompt, without the stop string that ended it (dsmath_lib.sampling.generate wrapped in a
lambda at tiny scale, vLLM at gpu scale, a scripted fake in the tests). Modes:
- "cot-fewshot" (base models, paper Table 2): `shots` worked examples "Question: ...\\nAnswer: ..." from a
  train split, then "Question: <q>\\nAnswer:"; generation stops at the next "\\nQuestion:", and the
  completion is read up to its first answer line (grading.first_answer_line).
- "cot-chat" (instruction models, docs/PAPER.md §7): <|user|>question\\n+COT_SUFFIX<|assistant|>, no system
  prompt; the answer is the last \\boxed{} (or "The answer is").
- "pot": the model writes a program (few-shot "Question/Program" when shots are given, else chat with
  POT_SUFFIX); the sandbox runs it and the last line it prints is the answer.
- "tool-chat" (tool-integrated, paper Table 5): reasoning interleaved with code between <|code|> and
  <|/code|>; generation stops at <|/code|>, the sandbox runs the block, the harness appends
  <|output|>...<|/output|> and the model continues, at most `max_executions` (4) runs per problem. A block
  opened after the last allowed run is not executed: the attempt ends there.
The chat and tool layout itself (tokens, suffixes, chat_prompt, the output block) is dsmath_lib.chat's.
Departure at small scale: the chat tokens are ours (dsmath_lib.chat), not DeepSeek's; the harness cannot
tell a block cut by the token budget from one closed by <|/code|>, and runs both (a cut block usually ends
in a SyntaxError, which the model sees as output).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dsmath_lib.chat import CODE, CODE_END, COT_SUFFIX, EOS, POT_SUFFIX, TOOL_SUFFIX, chat_prompt, output_block
from dsmath_lib.eval.grading import DEFAULT_TIMEOUT_S, extract_answer, first_answer_line, grade_many
from dsmath_lib.eval.sandbox import SandboxResult, run_many
from dsmath_lib.problem import Problem

FEW_SHOT_STOP = ["\nQuestion:"]
MODES = ("cot-fewshot", "cot-chat", "pot", "tool-chat")

GenerateFn = Callable[[list[str], list[str]], list[str]]


@dataclass
class Attempt:
    """One sample for one problem: the prompt, what the model (and, in tool mode, the sandbox) wrote after
    it, the extracted final answer (None when there is none) and how many programs ran."""

    problem_id: str
    sample: int
    prompt: str
    output: str
    answer: str | None
    executions: int = 0


def select_shots(train: Sequence[Problem], k: int, seed: int = 0, need_program: bool = False) -> list[Problem]:
    """k few-shot examples drawn from a train split with a fixed seed (programs required for PoT)."""
    pool = [p for p in train if p.program] if need_program else list(train)
    if len(pool) < k:
        raise ValueError(f"select_shots: need {k} examples{' with programs' if need_program else ''}, "
                         f"the train split has {len(pool)}")
    return random.Random(seed).sample(pool, k)


def few_shot_prompt(question: str, shots: Sequence[Problem], program: bool = False) -> str:
    """Base-model prompt: worked examples, then the question.

    >>> shot = Problem("t/0", "t", "1+1?", "1+1=2\\nThe answer is 2.", "2", "numeric", program="print(1+1)")
    >>> few_shot_prompt("2+2?", [shot])
    'Question: 1+1?\\nAnswer: 1+1=2\\nThe answer is 2.\\n\\nQuestion: 2+2?\\nAnswer:'
    >>> few_shot_prompt("2+2?", [shot], program=True)
    'Question: 1+1?\\nProgram:\\nprint(1+1)\\n\\nQuestion: 2+2?\\nProgram:\\n'
    """
    if program:
        examples = "".join(f"Question: {s.question}\nProgram:\n{s.program.strip()}\n\n" for s in shots)
        return f"{examples}Question: {question}\nProgram:\n"
    examples = "".join(f"Question: {s.question}\nAnswer: {s.solution.strip()}\n\n" for s in shots)
    return f"{examples}Question: {question}\nAnswer:"


def extract_program(text: str) -> str:
    """The program in a PoT response: the last ```python fenced block, else the last <|code|> block, else
    the text up to a closing fence.

    >>> extract_program("Here:\\n```python\\nprint(3)\\n```\\nDone.")
    'print(3)\\n'
    """
    fenced = re.findall(r"```(?:python|py)?[ \t]*\n(.*?)```", text, flags=re.DOTALL)
    if fenced:
        return fenced[-1]
    blocks = re.findall(re.escape(CODE) + r"(.*?)(?:" + re.escape(CODE_END) + r"|$)", text, flags=re.DOTALL)
    if blocks:
        return blocks[-1]
    return text.split("```")[0]


def program_answer(result: SandboxResult) -> str | None:
    """A PoT answer: the last non-empty printed line of a program that ran to completion.

    >>> program_answer(SandboxResult("ok", "12\\n7\\n\\n", "", 0, 0.1))
    '7'
    >>> program_answer(SandboxResult("error", "", "", 1, 0.1)) is None
    True
    """
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    return lines[-1] if result.ok and lines else None


def format_output(result: SandboxResult, max_chars: int = 1000) -> str:
    """What the model sees of a run: stdout, or the error's last line, or the limit that stopped it.

    >>> format_output(SandboxResult("error", "", "Traceback ...\\nZeroDivisionError: division by zero\\n", 1, 0.1))
    'ZeroDivisionError: division by zero'
    """
    if result.ok:
        text = result.stdout
    elif result.status == "error":
        errors = [line for line in result.stderr.strip().splitlines() if line.strip()]
        text = errors[-1] if errors else f"exit code {result.returncode}"
    else:
        text = f"{result.status}: {result.stdout[-max_chars // 2:]}" if result.stdout else result.status
    return text.strip()[-max_chars:]


def _strip_stop(text: str, stop: Sequence[str]) -> str:
    """Remove a stop string a generate_fn may have left at the end of its text."""
    for s in stop:
        if text.endswith(s):
            return text[: -len(s)]
    return text


def _open_code(text: str) -> str | None:
    """The code after the last <|code|> when that block is still open (generation stopped at <|/code|>)."""
    start = text.rfind(CODE)
    return text[start + len(CODE):] if start >= 0 and text.rfind(CODE_END) < start else None


def _run_tool_loop(prompts: list[str], generate_fn: GenerateFn, max_executions: int, timeout_s: float,
                   workers: int) -> tuple[list[str], list[int]]:
    """Tool-integrated rounds over a batch: generate to <|/code|>, run the open blocks, append outputs."""
    outputs, runs = [""] * len(prompts), [0] * len(prompts)
    active = list(range(len(prompts)))
    stop = [CODE_END, EOS]
    while active:
        pieces = generate_fn([prompts[i] + outputs[i] for i in active], stop)
        to_run = []
        for i, piece in zip(active, pieces):
            outputs[i] += _strip_stop(piece, stop)
            code = _open_code(outputs[i])
            if code is not None and runs[i] < max_executions:
                to_run.append((i, code))
        results = run_many([code for _, code in to_run], timeout_s=timeout_s, workers=workers, progress=False)
        for (i, _), result in zip(to_run, results):
            runs[i] += 1
            outputs[i] += CODE_END + output_block(format_output(result))
        active = [i for i, _ in to_run]
    return outputs, runs


def pot_with_shots(mode: str, shots: Sequence[Problem]) -> bool:
    """Whether "pot" prompts few-shot: only with shots that all have programs. Real benchmarks' train problems
    (GSM8K, MATH) ship none, so their PoT is zero-shot (the paper's base-model PoT uses PAL-style program prompts).

    >>> pot_with_shots("pot", [Problem("t/0", "t", "q", "s", "1", "numeric")]), pot_with_shots("cot-chat", [])
    (False, False)
    """
    return mode == "pot" and bool(shots) and all(s.program for s in shots)


def prompts_for(problems: Sequence[Problem], mode: str, shots: Sequence[Problem] = ()) -> list[str]:
    """The prompt of every problem in one mode: what the model sees before it writes (one per problem).
    `shots` are the few-shot examples ("cot-fewshot" needs them; "pot" uses them if given).

    >>> p = Problem("t/0", "t", "1+1?", "1+1=2", "2", "numeric")
    >>> prompts_for([p], "cot-chat") == [chat_prompt("1+1?")]
    True
    """
    if mode not in MODES:
        raise ValueError(f"unknown prompting mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "cot-fewshot" and not shots:
        raise ValueError("mode 'cot-fewshot' needs shots (see select_shots)")
    fewshot_pot = pot_with_shots(mode, shots)
    if mode == "cot-fewshot" or fewshot_pot:
        return [few_shot_prompt(p.question, shots, program=fewshot_pot) for p in problems]
    suffix = {"cot-chat": COT_SUFFIX, "pot": POT_SUFFIX, "tool-chat": TOOL_SUFFIX}[mode]
    return [chat_prompt(p.question, suffix) for p in problems]


def solve(problems: Sequence[Problem], generate_fn: GenerateFn, mode: str, shots: Sequence[Problem] = (),
          samples: int = 1, max_executions: int = 4, timeout_s: float = 5.0, workers: int = 2) -> list[Attempt]:
    """Prompt the model on every problem `samples` times in one mode; attempts[i * samples + j] is sample j
    of problem i. `shots` are the few-shot examples ("cot-fewshot" needs them; "pot" uses them if given)."""
    one = prompts_for(problems, mode, shots)
    fewshot = mode == "cot-fewshot" or pot_with_shots(mode, shots)
    prompts = [prompt for prompt in one for _ in range(samples)]
    kinds = [p.answer_kind for p in problems for _ in range(samples)]
    runs = [0] * len(prompts)
    if mode == "tool-chat":
        outputs, runs = _run_tool_loop(prompts, generate_fn, max_executions, timeout_s, workers)
    else:
        stop = FEW_SHOT_STOP if fewshot else [EOS]
        outputs = [_strip_stop(o, stop) for o in generate_fn(prompts, stop)]
    if mode == "cot-fewshot":
        outputs = [first_answer_line(o) for o in outputs]  # what follows answers questions nobody asked
    if mode == "pot":
        results = run_many([extract_program(o) for o in outputs], timeout_s=timeout_s, workers=workers,
                           progress=len(outputs) > 20)
        answers = [program_answer(r) for r in results]
        runs = [1] * len(prompts)
    else:
        answers = [extract_answer(o, kind) for o, kind in zip(outputs, kinds)]
    ids = [(p.id, j) for p in problems for j in range(samples)]
    return [Attempt(pid, j, prompt, out, ans, n) for (pid, j), prompt, out, ans, n
            in zip(ids, prompts, outputs, answers, runs)]


def grade_attempts(attempts: Sequence[Attempt], problems: Sequence[Problem], workers: int = 2,
                   timeout_s: float = DEFAULT_TIMEOUT_S, progress: bool = True) -> list[bool]:
    """Whether each attempt's answer equals its problem's gold answer (attempts as `solve` orders them); a
    symbolic comparison longer than `timeout_s` (eval.grading_timeout_s) counts as wrong."""
    gold = {p.id: p.answer for p in problems}
    return grade_many([a.answer for a in attempts], [gold[a.problem_id] for a in attempts], workers=workers,
                      timeout_s=timeout_s, progress=progress)
