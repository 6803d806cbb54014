"""What a program's model flags (`--init_checkpoint`, `--bert_config_file`, `--vocab_file`, `--do_lower_case`)
come to, one rule for every program and the serving export.

A Google checkpoint needs all of them, as in the reference (`--do_lower_case` defaults to True and must match a
release folder's casing). A Hugging Face folder carries them: its `config.json`, `vocab.txt` and
`tokenizer_config.json` fill in each flag not given; a given `--do_lower_case` that contradicts the folder is an
error naming both (its weights were trained on text cased that way). An evaluate/predict-only run from a Hugging
Face folder needs its task head and, for classifiers and taggers, its labels (`id2label`) to be the task's.
A Google checkpoint in a fine-tuning `--output_dir` tokenizes with the options its `task_info.json` records (a model
fine-tuned from a Hugging Face folder keeps that folder's 100-character word limit).
"""
from __future__ import annotations

import dataclasses
import logging
import os

import numpy as np

from keras_bert.checkpoints import huggingface as hf
from keras_bert.checkpoints.huggingface_files import read_weights
from keras_bert.checkpoints.pretrained import HUGGINGFACE, checkpoint_format
from keras_bert.config import BertConfig
from keras_bert.tokenization.huggingface import TokenizerSettings, read_tokenizer_settings
from keras_bert.tokenization.preprocessor import check_case_matches_checkpoint
from keras_bert.tokenization.vocab import check_vocab_matches_config
from keras_bert.training.outputs import TASK_INFO_FILE, TaskInfo

logger = logging.getLogger(__name__)

@dataclasses.dataclass(frozen=True)
class ModelInputs:
    """The model flags once `--init_checkpoint` has filled in those not given.

    Args:
        config: BertConfig, from `--bert_config_file`, else the Hugging Face folder's config.json.
        vocab_file: str or None, `--vocab_file`, else the Hugging Face folder's vocab.txt.
        do_lower_case: bool, `--do_lower_case`, else the folder's tokenizer_config.json, else True.
        tokenizer: the Hugging Face folder's `TokenizerSettings` (None for Google checkpoints).
        recorded_tokenizer_options: dict, a Google checkpoint's options from the `task_info.json` beside it.
    """

    config: BertConfig
    vocab_file: str | None
    do_lower_case: bool
    tokenizer: TokenizerSettings | None = None
    recorded_tokenizer_options: dict = dataclasses.field(default_factory=dict)

    @property
    def huggingface(self) -> bool:
        """Whether `--init_checkpoint` is a Hugging Face folder."""
        return self.tokenizer is not None

    def tokenizer_options(self) -> dict:
        """Keyword options of `BertPreprocessor`/`PieceTokenizer` beyond vocabulary and casing: the Hugging Face
        folder's (its word limit of 100 characters, ...); for a Google checkpoint, those its fine-tuning run
        recorded, else none (the reference's)."""
        if self.tokenizer is not None:
            return self.tokenizer.tokenizer_options()
        return dict(self.recorded_tokenizer_options)


def recorded_tokenizer_options(init_checkpoint: str | None) -> dict:
    """The tokenizer options in the `task_info.json` beside a Google checkpoint (a fine-tuning `--output_dir`;
    `init_checkpoint` is that folder or a checkpoint prefix in it), {} when there is none."""
    if not init_checkpoint:
        return {}
    folder = init_checkpoint if os.path.isdir(init_checkpoint) else os.path.dirname(init_checkpoint)
    if not os.path.isfile(os.path.join(folder, TASK_INFO_FILE)):
        return {}
    return dict(TaskInfo.read(folder).tokenizer_options)


def is_huggingface_checkpoint(init_checkpoint: str | os.PathLike | None) -> bool:
    """Whether `--init_checkpoint` is a Hugging Face folder (config.json + weights; a folder that also holds a
    Google checkpoint counts as Google, as `checkpoint_format` decides)."""
    return (bool(init_checkpoint) and hf.is_huggingface_folder(init_checkpoint)
            and checkpoint_format(init_checkpoint) == HUGGINGFACE)


def resolve_model_inputs(init_checkpoint: str | None, bert_config_file: str | None, vocab_file: str | None,
                         do_lower_case: bool | None, max_seq_length: int | None = None,
                         tokenizes_text: bool = True) -> ModelInputs:
    """The model flags of a program, completed from a Hugging Face `--init_checkpoint` (see the module docstring).

    Args:
        init_checkpoint, bert_config_file, vocab_file, do_lower_case: the flags (None: not given).
        max_seq_length: checked against the config's position embeddings (None: not checked).
        tokenizes_text: whether the program tokenizes text (pretraining from records does not): then it needs a
            vocabulary, and the casing is checked against the checkpoint.

    Raises ValueError naming the flag or file at fault: a missing `--bert_config_file`/`--vocab_file` for a
    Google checkpoint, a casing that contradicts the checkpoint, `--max_seq_length` beyond the position
    embeddings, a vocabulary larger than `vocab_size`.
    """
    if not is_huggingface_checkpoint(init_checkpoint):
        do_lower_case = True if do_lower_case is None else do_lower_case
        if tokenizes_text:
            check_case_matches_checkpoint(do_lower_case, init_checkpoint)
        if tokenizes_text and not vocab_file:
            raise ValueError("--vocab_file is required (unless --init_checkpoint is a Hugging Face folder, which "
                             "has its vocab.txt)")
        if not bert_config_file:
            raise ValueError("--bert_config_file is required (unless --init_checkpoint is a Hugging Face folder, "
                             "which has its config.json)")
        if not os.path.exists(bert_config_file):
            raise FileNotFoundError(f"--bert_config_file not found: {bert_config_file}")
        config = BertConfig.from_json_file(bert_config_file)
        check_config(config, bert_config_file, max_seq_length, vocab_file)
        return ModelInputs(config, vocab_file, do_lower_case,
                           recorded_tokenizer_options=recorded_tokenizer_options(init_checkpoint))

    settings = read_tokenizer_settings(init_checkpoint)
    if do_lower_case is None:
        do_lower_case = settings.do_lower_case
    elif bool(do_lower_case) != settings.do_lower_case and tokenizes_text:
        raise ValueError(f"--do_lower_case={bool(do_lower_case)} but --init_checkpoint {init_checkpoint} says "
                         f"do_lower_case={settings.do_lower_case} (its tokenizer_config.json): its vocabulary and "
                         f"weights expect that casing; omit --do_lower_case to use it")
    vocab_file = vocab_file or settings.vocab_file
    if bert_config_file:
        config, source = BertConfig.from_json_file(bert_config_file), bert_config_file
    else:
        config, source = hf.read_huggingface_config(init_checkpoint), os.path.join(init_checkpoint, hf.CONFIG_FILE)
    check_config(config, source, max_seq_length, vocab_file)
    return ModelInputs(config, vocab_file, do_lower_case, settings)


def check_config(config: BertConfig, source: str, max_seq_length: int | None, vocab_file: str | None) -> None:
    """`max_seq_length` must fit the position embeddings (as the reference checks) and `vocab_file`, when given,
    hold no more tokens than `vocab_size` (fewer: a warning); errors name `source`."""
    if max_seq_length is not None and max_seq_length > config.max_position_embeddings:
        raise ValueError(f"--max_seq_length {max_seq_length} exceeds max_position_embeddings "
                         f"{config.max_position_embeddings} of {source}")
    if vocab_file:
        check_vocab_matches_config(vocab_file, config, source)


def huggingface_architectures(folder: str | os.PathLike) -> list[str]:
    """config.json's `architectures` (transformers class names), [] when it has none."""
    architectures = hf.read_huggingface_values(folder).get("architectures") or []
    if not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures):
        raise ValueError(f"{os.path.join(folder, hf.CONFIG_FILE)}: architectures must be a list of class names, "
                         f"got {architectures!r}")
    return architectures


def fine_tuned_huggingface_arrays(model, folder: str, task: TaskInfo) -> dict[str, np.ndarray]:
    """The tensors of a Hugging Face folder that an evaluate/predict-only run of `task` can use with `model`
    (a task model): the folder must hold `model`'s head, and a classifier's or tagger's `id2label` must be the
    task's labels in the same order. Generic names (LABEL_0, LABEL_1, ..., transformers' default when none were
    given) stand for the task's labels in their order. ValueError naming the folder and both label lists."""
    arrays = read_weights(folder)
    head = sorted({entry.name for entry in hf.model_entries(model) if not entry.required
                   and not entry.name.startswith(hf.ENCODER_PREFIX)})
    missing = [name for name in head if name not in arrays]
    if missing:
        raise ValueError(
            f"--init_checkpoint {folder} has no {type(model).__name__} head ({', '.join(missing)}; its config.json "
            f"says architectures={huggingface_architectures(folder)}): evaluating, predicting or serving "
            f"{task.task_name} needs a model fine-tuned for it (a {model.huggingface_architecture} folder); to "
            "fine-tune this one, add --do_train")
    _check_labels(folder, task)
    return arrays


def _check_labels(folder: str, task: TaskInfo) -> None:
    if task.task == "squad":
        return
    labels = hf.huggingface_labels(folder)
    if labels is None:
        return  # the head's size is checked when it is loaded
    expected = ["score"] if task.is_regression else list(task.labels)
    generic = [f"LABEL_{i}" for i in range(len(labels))]
    if labels == expected or (labels == generic and len(labels) == len(expected)):
        return
    wanted = "one regression score" if task.is_regression else f"labels {expected}"
    raise ValueError(f"--init_checkpoint {folder} was fine-tuned with labels {labels} (id2label in its "
                     f"config.json), but {task.task_name} has {wanted}: the head's outputs would be read as other "
                     "classes; evaluate a model fine-tuned for this task, or add --do_train")
