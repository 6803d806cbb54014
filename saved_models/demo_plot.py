"""The demo's pretraining loss curve as a PNG (matplotlib, headless)."""
from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Any


def save_loss_plot(step_logs: Sequence[dict[str, Any]], path: pathlib.Path) -> None:
    """The pretraining loss curve (total, masked-LM and next-sentence losses against the step) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4))
    steps = [log["step"] for log in step_logs]
    for key, label in (("loss", "total"), ("masked_lm_loss", "masked LM"), ("next_sentence_loss", "next sentence")):
        if step_logs and key in step_logs[0]:
            axes.plot(steps, [log[key] for log in step_logs], label=label)
    axes.set_xlabel("step")
    axes.set_ylabel("loss (mean since the previous point)")
    axes.set_title("keras-bert demo: pretraining loss")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
