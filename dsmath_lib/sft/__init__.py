"""Supervised fine-tuning (notebook 04, paper §3): instruction examples, packed rows, the run, the Instruct model.

    from dsmath_lib import sft
    examples = sft.load_examples(params.sft, artifacts / "world", seed=params.seed)   # list[SFTExample]
    data = sft.pack(examples, tokenizer, params.model.context_length, artifacts / "packed" / "sft.npy")
    spec = sft.spec(params, base, data, artifacts / "runs")                          # a TrainSpec
    sft.publish(dsmath_lib.train.run(spec).checkpoint, artifacts / "checkpoints" / "instruct")
    print(sft.conclusion(top1_table(runs)))   # the notebook's conclusion, read from eval.table5's top-1 table

Modules, one job each: examples (the CoT, PoT and tool-integrated examples, built from the world's train
problems in dsmath_lib.chat's layout or read from a JSONL file or a hub dataset, and the spans of a
response not trained on) and stage (loading, packing, the run's spec, publishing, the conclusion).
Departures from the paper at small scale are in each module's docstring.
"""

from dsmath_lib.sft.examples import (FORMATS, SFTExample, cot_response, example_from_record, pot_response,
                                     read_examples, response_mask_spans, tool_response, world_examples)
from dsmath_lib.sft.stage import conclusion, example_table, load_examples, pack, publish, spec

__all__ = ["FORMATS", "SFTExample", "cot_response", "example_from_record", "pot_response", "read_examples",
           "response_mask_spans", "tool_response", "world_examples", "conclusion", "example_table", "load_examples",
           "pack", "publish", "spec"]
