"""SFT instruction examples (paper §3): chain-of-thought, program-of-thought and tool-integrated, built or read.

    from dsmath_lib.sft import world_examples, read_examples, response_mask_spans
    examples = world_examples(world.train, ["cot", "pot", "tool"], seed=0)   # tiny: from the world
    examples = read_examples("my/sft.jsonl")                                # gpu: a local JSONL file ...
    examples = read_examples("some-org/some-sft-set", limit=10_000)         # ... or a hub dataset by name
    examples[0].prompt + examples[0].response       # the text SFT trains on (loss on the response only)
    response_mask_spans(example.response)           # character spans of the response not trained on

Each format is written in the chat and tool layout of dsmath_lib.chat, exactly as the matching evaluation
mode of dsmath_lib.eval.prompting reads it, so the Instruct model is evaluated in the layout it was trained on:
- "cot" -> mode "cot-chat": the problem's solution steps, ending "The answer is \\boxed{answer}." (the
  paper's CoT suffix asks for the box; extract_answer reads it);
- "pot" -> mode "pot": the program in a ```python fence (what extract_program takes), which prints the
  answer;
- "tool" -> mode "tool-chat": a sentence, <|code|>program<|/code|>, <|output|>what it prints<|/output|>
  (laid out by the harness's own format_output), then a sentence ending with \\boxed{answer}. The output
  is the harness's text, not the model's: response_mask_spans marks it so that SFT does not train on it.
Every response ends with <|eos|>. The programs are the world's reference programs, run in this process
with dsmath_lib.synth.assemble.run_program (ours, never model-written code).

Departures from the paper at small scale: the paper's 776K examples are written by people and GPT-4 for
GSM8K, MATH and other sets, in English and Chinese; ours are built from the world's train problems with
a few fixed sentences, and every tool-integrated example makes exactly one program call.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from dsmath_lib.chat import (ASSISTANT, COT_SUFFIX, EOS, OUTPUT, OUTPUT_END, POT_SUFFIX, TOOL_SUFFIX, USER, chat_prompt,
                             tool_call)
from dsmath_lib.eval.prompting import format_output  # the harness's own rendering of a run, so SFT sees what eval shows
from dsmath_lib.eval.sandbox import SandboxResult
from dsmath_lib.problem import Problem, last_boxed
from dsmath_lib.synth.assemble import answer_line, run_program

FORMATS = ("cot", "pot", "tool")
SUFFIXES = {"cot": COT_SUFFIX, "pot": POT_SUFFIX, "tool": TOOL_SUFFIX}
TOOL_OPENINGS = ("Let me compute this with a short program.", "I will work it out in Python.",
                 "A small program can do the arithmetic.", "Let me write the steps as code.")
_ANSWER_LINE = re.compile(r"^\s*The answer is\b.*$")


@dataclass(frozen=True)
class SFTExample:
    """One instruction example: the chat prompt, the response (ending with <|eos|>), its format and source."""

    prompt: str
    response: str
    format: str  # "cot" | "pot" | "tool"
    problem_id: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def cot_response(problem: Problem) -> str:
    """The solution with its final answer boxed: a last "The answer is ..." line becomes the boxed one.

    >>> p = Problem("t/0", "t", "2+3?", "2 + 3 = 5\\nThe answer is 5.", "5", "numeric")
    >>> cot_response(p)
    '2 + 3 = 5\\nThe answer is \\\\boxed{5}.<|eos|>'
    """
    lines = problem.solution.rstrip().split("\n")
    if last_boxed(problem.solution) is None:
        if _ANSWER_LINE.match(lines[-1]):
            lines = lines[:-1]
        lines.append(answer_line(problem.answer, "latex"))
    return "\n".join(lines) + EOS


def pot_response(problem: Problem) -> str:
    """The program in a ```python fence, as the "pot" mode's extract_program reads it.

    >>> pot_response(Problem("t/0", "t", "2+3?", "", "5", "numeric", program="print(2 + 3)\\n"))
    '```python\\nprint(2 + 3)\\n```<|eos|>'
    """
    return f"```python\n{problem.program.rstrip()}\n```{EOS}"


def tool_response(problem: Problem, opening: str) -> str:
    """Reasoning, one program call with the output the harness would append, and the boxed answer.

    >>> p = Problem("t/0", "t", "2+3?", "", "5", "numeric", program="print(2 + 3)\\n")
    >>> tool_response(p, "Let me compute.")
    'Let me compute.\\n<|code|>print(2 + 3)\\n<|/code|><|output|>5<|/output|>\\nThe answer is \\\\boxed{5}.<|eos|>'
    """
    program = problem.program.rstrip() + "\n"
    printed = run_program(program)  # the world's own reference program, not model code
    output = format_output(SandboxResult("ok", printed + "\n", "", 0, 0.0))
    return f"{opening}\n{tool_call(program, output)}\n{answer_line(problem.answer, 'latex')}{EOS}"


def world_examples(problems: Sequence[Problem], formats: Sequence[str], seed: int = 0,
                   shares: Sequence[float] = ()) -> list[SFTExample]:
    """One example per problem per format (no "pot" or "tool" example for a problem without a program),
    shuffled with `seed`. `shares`, aligned with `formats`, writes only the first share of the problems in
    that format (() = every problem in every format).

    >>> p = Problem("t/0", "t", "2+3?", "2 + 3 = 5\\nThe answer is 5.", "5", "numeric", program="print(2 + 3)\\n")
    >>> sorted(e.format for e in world_examples([p], ["cot", "pot", "tool"]))
    ['cot', 'pot', 'tool']
    >>> sorted(e.format for e in world_examples([p, p, p, p], ["cot", "pot"], shares=[1.0, 0.5]))
    ['cot', 'cot', 'cot', 'cot', 'pot', 'pot']
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown SFT formats {unknown}; choose from {', '.join(FORMATS)}")
    if shares and (len(shares) != len(formats) or not all(0 <= s <= 1 for s in shares)):
        raise ValueError(f"SFT format shares {list(shares)} must be one share in [0, 1] per format {list(formats)}")
    limits = {fmt: round(share * len(problems)) for fmt, share in zip(formats, shares)}
    rng = random.Random(f"dsmath-sft:{seed}")
    examples = []
    for index, problem in enumerate(problems):
        for fmt in formats:
            if (fmt != "cot" and not problem.program) or index >= limits.get(fmt, len(problems)):
                continue
            response = {"cot": lambda: cot_response(problem), "pot": lambda: pot_response(problem),
                        "tool": lambda: tool_response(problem, rng.choice(TOOL_OPENINGS))}[fmt]()
            examples.append(SFTExample(chat_prompt(problem.question, SUFFIXES[fmt]), response, fmt, problem.id))
    rng.shuffle(examples)
    return examples


def response_mask_spans(response: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of `response` not to train on: each <|output|>...<|/output|> block,
    markers included (the harness writes them, not the model); an unclosed block runs to the end.

    >>> r = "Run.<|code|>print(1)<|/code|><|output|>1<|/output|>So 1."
    >>> [r[a:b] for a, b in response_mask_spans(r)]
    ['<|output|>1<|/output|>']
    """
    spans, start = [], response.find(OUTPUT)
    while start >= 0:
        end = response.find(OUTPUT_END, start)
        end = len(response) if end < 0 else end + len(OUTPUT_END)
        spans.append((start, end))
        start = response.find(OUTPUT, end)
    return spans


def example_from_record(record: dict, problem_id: str) -> SFTExample:
    """An SFTExample from {"prompt", "response"[, "format", "problem_id"]} or {"messages": [user, assistant]}.

    A prompt without chat tokens is the user's text and gets them; a response gets <|eos|> if it lacks it.

    >>> example_from_record({"messages": [{"role": "user", "content": "1+1?"},
    ...                                   {"role": "assistant", "content": "2"}]}, "x:1").prompt
    '<|user|>1+1?<|assistant|>'
    """
    if not isinstance(record, dict):
        raise ValueError(f"a record must be a JSON object, got {type(record).__name__}")
    if "messages" in record:
        turns = {m["role"]: m["content"] for m in reversed(record["messages"])}  # the first of each role
        if "user" not in turns or "assistant" not in turns:
            raise ValueError("'messages' needs a user and an assistant turn")
        prompt, response = turns["user"], turns["assistant"]
    elif "prompt" in record and "response" in record:
        prompt, response = record["prompt"], record["response"]
    else:
        raise ValueError(f"expected keys 'prompt' and 'response', or 'messages'; got {sorted(record)}")
    if not isinstance(prompt, str) or not isinstance(response, str):
        raise ValueError("prompt and response must be strings")
    if not prompt.startswith(USER):
        prompt = f"{USER}{prompt}{ASSISTANT}"
    response = response if response.endswith(EOS) else response + EOS
    fmt = record.get("format", "cot")
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    return SFTExample(prompt, response, fmt, record.get("problem_id", problem_id))


def _records(source: str) -> Iterable[tuple[str, dict | str]]:
    """(where, record) pairs of a local JSONL file ("path:line") or a hub dataset ("name[row]")."""
    path = Path(source)
    if path.exists():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):  # not splitlines: U+2028
            if line.strip():
                yield f"{path}:{lineno}", line
        return
    try:
        from datasets import load_dataset

        rows = load_dataset(source, split="train")
    except Exception as err:  # datasets raises several types (offline, not found, bad config)
        raise FileNotFoundError(f"read_examples: {source!r} is neither a local file nor a loadable hub dataset "
                                f"(offline runs, HF_HUB_OFFLINE=1, need a local JSONL path): {err}") from err
    for i, row in enumerate(rows):
        yield f"{source}[{i}]", dict(row)


def read_examples(source: str, limit: int = 0) -> list[SFTExample]:
    """SFT examples from a local JSONL file or, when no such path exists, a hub dataset's train split;
    the first `limit` of them (all when 0). A malformed record raises ValueError naming file and line."""
    examples = []
    for where, record in _records(source):
        try:
            examples.append(example_from_record(json.loads(record) if isinstance(record, str) else record, where))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{where}: not an SFT record ({err})") from err
        if limit and len(examples) >= limit:
            break
    return examples
