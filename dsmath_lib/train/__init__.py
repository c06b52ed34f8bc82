"""Causal-LM pretraining on token mixtures and SFT, through accelerate, resumable (paper §2-3).

    from dsmath_lib.train import pack_documents, pack_sft, write_packed, pretrain_spec, sft_spec, run
    write_packed(dir / "math.npy", pack_documents(docs, length=512, eos_id=tok.eos_token_id), source="...")
    spec = pretrain_spec(params.pretrain, params.model, init=init_ckpt, out=run_dir, data=[dir / "math.npy"],
                         tokens=params.pretrain.math_tokens)
    result = run(spec, accelerate_config=params.pretrain.accelerate_config, tracker=tracker)
    result.checkpoint            # out/final: load with dsmath_lib.model.load_model
    result.curve                 # out/curve/<tokens>: learning-curve checkpoints for the notebook to evaluate

Modules, one job each: schedule (warm-up + multi-step LR), packing (rows and masks on disk), mixture
(which rows fill each global batch), spec (TrainSpec / TrainResult), checkpoint (the run folder:
resume state, curve and final checkpoints), loop (the training loop), launch (in-process or
`accelerate launch`), report (the loss figure); `python -m dsmath_lib.train spec.json` is the command line.

What follows the paper: AdamW (0.9, 0.95), weight decay 0.1, 2,000 warm-up steps, 31.6% of the peak
LR at 80% of training and 10% at 90% (§2); SFT on examples packed to the context length, constant LR,
loss on the response only (§3). Departures at small scale: warm-up is clipped to the run's length; no
cross-document attention masking inside packed rows (the paper does not say; most pretraining code
does not mask); weight decay on 2-D weights only, the usual GPT rule (the paper does not say); one
global batch is the same rows whatever the number of processes, so 1 and 2 processes train alike.
"""

from dsmath_lib.train.launch import launch_command, run
from dsmath_lib.train.loop import train
from dsmath_lib.train.mixture import Mixture, apportion
from dsmath_lib.train.report import plot_history
from dsmath_lib.train.packing import PackedData, pack_documents, pack_sft, read_packed, sft_tokens, write_packed
from dsmath_lib.train.schedule import lr_scheduler, multistep_lr
from dsmath_lib.train.spec import TrainResult, TrainSpec, pretrain_spec, sft_spec

__all__ = [
    "Mixture", "PackedData", "TrainResult", "TrainSpec", "apportion", "launch_command", "lr_scheduler",
    "multistep_lr", "pack_documents", "pack_sft", "plot_history", "pretrain_spec", "read_packed", "run", "sft_spec",
    "sft_tokens", "train", "write_packed",
]
