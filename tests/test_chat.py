"""The chat and tool format (dsmath_lib.chat): the paper's suffixes, the token strings, the markup builders."""

import doctest

from dsmath_lib import chat


def test_paper_suffix_and_chat_tokens():
    assert chat.COT_SUFFIX == "Please reason step by step, and put your final answer within \\boxed{}."
    assert (chat.USER, chat.ASSISTANT, chat.EOS) == ("<|user|>", "<|assistant|>", "<|eos|>")
    assert (chat.CODE, chat.CODE_END, chat.OUTPUT, chat.OUTPUT_END) == ("<|code|>", "<|/code|>", "<|output|>",
                                                                        "<|/output|>")
    assert chat.SPECIAL_TOKENS[:3] == (chat.PAD, chat.BOS, chat.EOS)  # fixes the trained tokenizer's first ids


def test_tool_call_is_the_code_block_then_the_output_block():
    assert chat.tool_call("x", "1") == chat.CODE + "x" + chat.CODE_END + chat.output_block("1")


def test_docstring_examples():
    result = doctest.testmod(chat)
    assert result.attempted > 0 and result.failed == 0
