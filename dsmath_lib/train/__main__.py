"""Command line: train the spec in a JSON file; what `accelerate launch` runs on every process.

    python -m dsmath_lib.train out/spec.json [--fresh] [--no-progress]
    accelerate launch --config_file params/accelerate/ddp.yaml -m dsmath_lib.train out/spec.json

The spec file is a TrainSpec as JSON (dsmath_lib.train.spec); the run writes its folder (spec.out),
including out/result.json, which `dsmath_lib.train.launch.run` reads back.
"""

from __future__ import annotations

import argparse

from accelerate import PartialState

from dsmath_lib.train.loop import train
from dsmath_lib.train.spec import TrainSpec


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m dsmath_lib.train", description=__doc__.splitlines()[0])
    ap.add_argument("spec", help="TrainSpec JSON file")
    ap.add_argument("--fresh", action="store_true", help="discard what the run folder holds and start over")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    result = train(TrainSpec.from_json(args.spec), progress=not args.no_progress, fresh=args.fresh)
    if PartialState().is_main_process:  # initialised by train's Accelerator: the launch's real rank
        print(f"trained {result.steps} steps, {result.tokens:,} tokens, final loss {result.final_loss:.4f}, "
              f"{result.tokens_per_s:,.0f} tokens/s -> {result.checkpoint}", flush=True)


if __name__ == "__main__":
    main()
