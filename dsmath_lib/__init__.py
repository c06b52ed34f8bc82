"""dsmath_lib: the library behind the dsmath notebooks, a reproduction of DeepSeekMath (arXiv 2402.03300).

One module per stage: config (params files), paths, synth (the embedded world), problem (the benchmark
record), tokenizer / model / sampling (tiny Llama models), tracking (wandb), report (tables and
REPORT.md), reproduce (the papermill runner). Notebooks in notebooks/ call these; see README.md.
"""

__version__ = "0.1.0"
