"""dsmath_lib: the library behind the dsmath notebooks, a reproduction of DeepSeekMath (arXiv 2402.03300).

One package per stage of the pipeline: synth (00, the embedded world), corpus (01, mining), pretraining
(02-03, the corpus and staging ablations), sft (04), rl (05-06), eval (07, and every stage's scores). They
stand on a shared engine: chat (the special tokens and the chat / tool format), tokenizer, model, sampling
(tiny Llama models), train (the training loop); and on config (params files), paths, problem (the benchmark
record and its answer format), data (benchmark loaders), tracking (wandb), report (tables and REPORT.md),
reproduce (the papermill runner). Notebooks in notebooks/ call these; see README.md.
"""

__version__ = "0.1.0"
