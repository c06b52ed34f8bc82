"""The chat and tool format: dsmath's special tokens and the text layout of a chat turn and of a program call.

    from dsmath_lib.chat import COT_SUFFIX, EOS, chat_prompt, tool_call
    chat_prompt("What is 2+2?", COT_SUFFIX)      # '<|user|>What is 2+2?\nPlease reason ...<|assistant|>'
    tool_call("print(2 + 2)\n", "4")             # '<|code|>print(2 + 2)\n<|/code|><|output|>4<|/output|>'

One module so that the tokenizer (which never splits these tokens), SFT (which writes examples in this
layout), the evaluation harness (which prompts and runs tools in it) and RL (which prompts as the
evaluation does) cannot drift apart. A chat turn is <|user|>question\nsuffix<|assistant|>response<|eos|>,
with no system prompt; a tool call is <|code|>program<|/code|> written by the model, then
<|output|>printed text<|/output|> written by the harness.

Departure from the paper: the chat tokens are ours, not DeepSeek's (whose chat template and tool markup
are in their own tokenizer); the suffixes are the paper's (docs/PAPER.md §7).
"""

from __future__ import annotations

PAD = "<|pad|>"  # padding only; never trained on (loss-masked) and never sampled as content
BOS = "<|bos|>"  # starts every document and prompt
EOS = "<|eos|>"  # ends a document or an answer; the sampler stops on it
USER = "<|user|>"  # SFT chat format: the question follows
ASSISTANT = "<|assistant|>"  # SFT chat format: the model's answer follows
CODE = "<|code|>"  # tool-integrated format: a Python program the model wrote starts ...
CODE_END = "<|/code|>"  # ... and ends here; the sampler can stop here to run it
OUTPUT = "<|output|>"  # the program's printed output, inserted by the harness, starts ...
OUTPUT_END = "<|/output|>"  # ... and ends here

# Order fixes the ids of the trained tokenizer: PAD=0, BOS=1, EOS=2, then the chat and code markers.
SPECIAL_TOKENS = (PAD, BOS, EOS, USER, ASSISTANT, CODE, CODE_END, OUTPUT, OUTPUT_END)

COT_SUFFIX = "Please reason step by step, and put your final answer within \\boxed{}."  # the paper's
TOOL_SUFFIX = ("Please integrate natural language reasoning with programs to solve the problem above, "
               "and put your final answer within \\boxed{}.")  # DeepSeekMath's tool-integrated prompt
POT_SUFFIX = "Please write a Python program that prints the final answer."


def chat_prompt(question: str, suffix: str = COT_SUFFIX) -> str:
    """Instruction-model prompt: one user turn (question, newline, suffix), no system prompt.

    >>> chat_prompt("What is 2+2?")
    '<|user|>What is 2+2?\\nPlease reason step by step, and put your final answer within \\\\boxed{}.<|assistant|>'
    """
    return f"{USER}{question}\n{suffix}{ASSISTANT}"


def chat_example(question: str, response: str, suffix: str = COT_SUFFIX) -> str:
    """A full chat turn as SFT trains on it: the prompt, the response and <|eos|>.

    >>> chat_example("1+1?", "\\\\boxed{2}", suffix="Go.")
    '<|user|>1+1?\\nGo.<|assistant|>\\\\boxed{2}<|eos|>'
    """
    return chat_prompt(question, suffix) + response + EOS


def output_block(printed: str) -> str:
    """What the harness appends after a program ran: its printed text between the output markers.

    >>> output_block("4")
    '<|output|>4<|/output|>'
    """
    return f"{OUTPUT}{printed}{OUTPUT_END}"


def tool_call(program: str, printed: str) -> str:
    """One program call as it reads in a response: the model's code block, then the harness's output block.

    >>> tool_call("print(2 + 2)\\n", "4")
    '<|code|>print(2 + 2)\\n<|/code|><|output|>4<|/output|>'
    """
    return f"{CODE}{program}{CODE_END}{output_block(printed)}"
