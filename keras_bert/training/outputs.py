"""What a training run leaves in its `--output_dir`: the file names, `eval_results.txt`, and `TaskInfo`, the
typed contract between the fine-tuning programs (which write `task_info.json`) and the serving export (which
reads it to rebuild and export the task model)."""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, ClassVar

import tensorflow as tf

TASK_INFO_FILE = "task_info.json"
MODEL_FILE = "model.keras"
VOCAB_FILE = "vocab.txt"
CHECKPOINT_PREFIX = "bert_model.ckpt"
EVAL_RESULTS_FILE = "eval_results.txt"
HUGGINGFACE_DIR = "huggingface"  # --save_huggingface: the task model as a Hugging Face folder

CLASSIFIER, SQUAD, TAGGER = "classifier", "squad", "tagger"


@dataclasses.dataclass(frozen=True)
class SquadSettings:
    """run_squad's windowing and post-processing flags, which the SQuAD export repeats in its graph."""

    doc_stride: int = 128
    max_query_length: int = 64
    max_answer_length: int = 30
    n_best_size: int = 20
    version_2_with_negative: bool = False
    null_score_diff_threshold: float = 0.0


@dataclasses.dataclass(frozen=True)
class TaskInfo:
    """A fine-tuned task model's description: enough to rebuild the model and its preprocessing.

    Args:
        task: str, the kind of model: "classifier" (`BertClassifier`), "squad" (`BertSpanLabeler`) or "tagger"
            (`BertTokenClassifier`).
        task_name: str, the program's `--task_name` (e.g. "sst-2"), or "squad1.1"/"squad2.0".
        do_lower_case: bool, how the text was tokenized.
        max_seq_length: int, word pieces per input, [CLS] and [SEP]s included.
        labels: list of str, class names in id order (classifier, tagger); empty for regression and SQuAD.
        is_regression: bool, a classifier with one real-valued output.
        pair_input: bool, a classifier that takes text pairs.
        squad: `SquadSettings`, for task "squad" only.
        tokenizer_options: dict, `BertTokenizer`'s options beyond vocabulary and casing (`strip_accents`,
            `tokenize_chinese_chars`, `max_chars_per_word`) of a model fine-tuned from a Hugging Face folder;
            empty for the reference's tokenization.

    Example:
    >>> info = TaskInfo(CLASSIFIER, "sst-2", do_lower_case=True, max_seq_length=128, labels=["0", "1"])
    >>> TaskInfo.from_json(info.to_json()) == info
    True
    """

    TASKS: ClassVar[tuple[str, ...]] = (CLASSIFIER, SQUAD, TAGGER)

    task: str
    task_name: str
    do_lower_case: bool
    max_seq_length: int
    labels: list[str] = dataclasses.field(default_factory=list)
    is_regression: bool = False
    pair_input: bool = False
    squad: SquadSettings | None = None
    tokenizer_options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in self.TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {list(self.TASKS)}")
        if self.task == SQUAD and self.squad is None:
            object.__setattr__(self, "squad", SquadSettings())
        if self.task != SQUAD and self.squad is not None:
            raise ValueError(f"squad settings given for task {self.task!r}")
        if self.task == TAGGER and not self.labels:
            raise ValueError("a tagger needs its labels")
        if self.task == CLASSIFIER and not (self.labels or self.is_regression):
            raise ValueError("a classifier needs labels unless it is a regression")

    @property
    def num_outputs(self) -> int:
        """Output units of the head: classes (1 for regression) or tags; 2 (start, end) for SQuAD."""
        if self.task == SQUAD:
            return 2
        return 1 if self.is_regression else len(self.labels)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "task_info.json") -> TaskInfo:
        """Parses `to_json`'s output; a missing or unknown key is an error naming `source`."""
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{source} is not valid JSON: {error}") from None
        if not isinstance(fields, dict):
            raise ValueError(f"{source} must hold a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(f"{source} has unknown keys {unknown}; expected some of {sorted(known)}")
        missing = sorted(f.name for f in dataclasses.fields(cls)
                         if f.name not in fields and f.default is dataclasses.MISSING
                         and f.default_factory is dataclasses.MISSING)
        if missing:
            raise ValueError(f"{source} lacks the keys {missing}")
        squad = fields.pop("squad", None)
        try:
            return cls(**fields, squad=SquadSettings(**squad) if squad is not None else None)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{source}: {error}") from None

    def write(self, output_dir: str | os.PathLike) -> str:
        """Writes `output_dir/task_info.json`; returns its path."""
        path = os.path.join(output_dir, TASK_INFO_FILE)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())
        return path

    @classmethod
    def read(cls, model_dir: str | os.PathLike) -> TaskInfo:
        """Reads `model_dir/task_info.json` (a fine-tuning `--output_dir`)."""
        path = os.path.join(model_dir, TASK_INFO_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found: expected a fine-tuning --output_dir")
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read(), source=path)


def write_eval_results(path: str | os.PathLike, results: dict[str, Any]) -> None:
    """The reference's `eval_results.txt`: one `key = value` line per result, keys sorted (any
    `tf.io.gfile` path, e.g. gs://)."""
    with tf.io.gfile.GFile(os.fspath(path), "w") as writer:
        for key in sorted(results):
            writer.write(f"{key} = {results[key]}\n")
