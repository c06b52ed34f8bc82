"""Figures and run names of training runs: GRPO (dsmath_lib.rl.report) and pretraining / SFT (dsmath_lib.train.report)."""

import dataclasses

import pandas as pd

from dsmath_lib.config import GRPOConfig
from dsmath_lib.rl.report import PANELS, plot_training, run_folder


def test_run_folder_changes_with_config_seed_and_start(tmp_path):
    start = tmp_path / "instruct"
    start.mkdir()
    (start / "dsmath.json").write_text('{"stage": "instruct", "source": "a"}')
    cfg = GRPOConfig(steps=3)
    folder = run_folder(tmp_path / "runs", cfg, start, seed=0)
    assert folder == run_folder(tmp_path / "runs", GRPOConfig(steps=3), start, seed=0)
    assert folder.name.startswith("grpo-grpo-")
    assert folder != run_folder(tmp_path / "runs", dataclasses.replace(cfg, beta=0.0), start, seed=0)
    assert folder != run_folder(tmp_path / "runs", cfg, start, seed=1)
    (start / "dsmath.json").write_text('{"stage": "instruct", "source": "b"}')  # another Instruct model
    assert folder != run_folder(tmp_path / "runs", cfg, start, seed=0)
    dapo, custom = GRPOConfig.from_preset("dapo", steps=3), dataclasses.replace(cfg, clip_eps_high=0.28)
    assert run_folder(tmp_path / "runs", dapo, start, seed=0).name.startswith("grpo-dapo-")  # the preset's name
    assert run_folder(tmp_path / "runs", custom, start, seed=0).name.startswith("grpo-seq-eps_high0.28-")  # or fields


def test_plot_training_draws_every_panel():
    history = pd.DataFrame({"step": [1, 2], "reward_mean": [0.1, 0.3], "kl": [0.0, 0.01],
                            "response_length": [40.0, 38.0]})
    evals = pd.DataFrame({"step": [0, 2], "accuracy": [0.1, 0.2], "accuracy/synth-gsm": [0.2, 0.3]})
    fig = plot_training(history, evals)
    assert len(fig.axes) == len(PANELS)
    assert len(fig.axes[1].lines) == 2 and len(fig.axes[0].lines) == 1
    assert len(plot_training(history, pd.DataFrame()).axes[1].lines) == 0


def test_plot_history_of_a_training_run():
    from dsmath_lib.train.report import plot_history

    history = pd.DataFrame({"step": [1, 2, 3], "loss": [3.0, 2.5, 2.2], "lr": [1e-3, 1e-3, 1e-3]})
    fig = plot_history(history, "loss")
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
    assert len(plot_history(pd.DataFrame(), "empty").axes) == 1
