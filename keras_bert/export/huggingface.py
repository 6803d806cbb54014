"""Exports a Hugging Face folder for TensorFlow Serving without training: a fine-tuned BertForSequenceClassification,
BertForTokenClassification or BertForQuestionAnswering becomes the matching task model of `serving.export_task`
(classifier, tagger, SQuAD), its labels from config.json's `id2label`; other BERT folders their encoder
(`serving.export_pretrained`).

What config.json does not say is decided here: the task's sequence length (`--max_seq_length`, by default the
fine-tuning programs' 128, SQuAD's 384, at most `max_position_embeddings`), whether a classifier's `serving_default`
takes pairs (`--pair_input`, default single texts; both `classify_text` and `classify_pair` are served anyway), and
the SQuAD windows (the reference's doc_stride 128 and max_query_length 64, shrunk to fit shorter sequences).
"""
from __future__ import annotations

import os

from keras_bert.checkpoints import huggingface as hf
from keras_bert.export.export_module import LENGTH_BUCKET
from keras_bert.export.serving import TASK_MODELS, export_pretrained, export_task, serving_seq_length
from keras_bert.training import model_inputs
from keras_bert.training.outputs import CLASSIFIER, SQUAD, SquadSettings, TaskInfo

AUTO, ENCODER = "auto", "encoder"
TASKS = (AUTO, ENCODER, *TASK_MODELS)  # the values of --task
# transformers classes whose head is a masked-LM or next-sentence head (or none): exported as the encoder.
ENCODER_ARCHITECTURES = frozenset({"BertModel", "BertForPreTraining", "BertForMaskedLM",
                                   "BertForNextSentencePrediction"})
HEAD_TASKS = {model_class.huggingface_architecture: task for task, model_class in TASK_MODELS.items()}
SQUAD_MAX_SEQ_LENGTH = 384  # run_squad's default


def huggingface_task(folder: str | os.PathLike) -> str:
    """The export a Hugging Face folder's config.json `architectures` asks for: "classifier", "squad", "tagger", or
    "encoder" (BertModel, BertForPreTraining, BertForMaskedLM, no architectures). ValueError naming the file for
    another head (e.g. BertForMultipleChoice), which would be served without it."""
    architectures = model_inputs.huggingface_architectures(folder)
    tasks = {HEAD_TASKS[name] for name in architectures if name in HEAD_TASKS}
    unknown = [name for name in architectures if name not in HEAD_TASKS and name not in ENCODER_ARCHITECTURES]
    if len(tasks) == 1 and not unknown:
        return tasks.pop()
    if not tasks and not unknown:
        return ENCODER
    raise ValueError(f"{os.path.join(folder, hf.CONFIG_FILE)}: architectures {architectures} has no keras_bert "
                     f"task model (known: {sorted(HEAD_TASKS)}); pass --task=encoder to export its encoder only, "
                     f"or --task={'|'.join(TASK_MODELS)}")


def export_huggingface(folder: str | os.PathLike, export_base: str | os.PathLike, task: str = AUTO,
                       model_name: str | None = None, version: int | None = None, export_encoder: bool = True,
                       export_preprocessing_model: bool = True, pair_input: bool | None = None,
                       do_lower_case: bool | None = None, max_seq_length: int | None = None,
                       max_text_bytes: int | None = None, max_windows: int | None = None,
                       overwrite: bool = False, *, length_bucket: int = LENGTH_BUCKET,
                       serving_dtype: str = "float32") -> dict[str, str]:
    """Exports a Hugging Face folder for TF Serving (see the module docstring).

    Args:
      folder: config.json, weights, vocab.txt, tokenizer_config.json.
      export_base: the root TF Serving polls.
      task: "auto" (from config.json's `architectures`, `huggingface_task`), "encoder", or a task ("classifier",
        "squad", "tagger"), whose head the folder must hold.
      do_lower_case: None for the folder's casing; a contradicting value is an error.
      max_seq_length: the task's (or the encoder's preprocessing) sequence length; None: see the module docstring.
      model_name, version, export_encoder, export_preprocessing_model, pair_input, max_text_bytes, max_windows,
      overwrite, length_bucket, serving_dtype: as for `serving.export_finetuned` (an encoder export's name defaults
        to "bert"; `serving_dtype` other than "float32" is for a task model, an error for an encoder export).

    Returns:
      {"task": dir, "encoder": dir, "preprocessing": dir, "models_config": path} for what was written.
    """
    folder = os.fspath(folder)
    if task not in TASKS:
        raise ValueError(f"--task must be one of {list(TASKS)}, got {task!r}")
    task = huggingface_task(folder) if task == AUTO else task
    if task == ENCODER and serving_dtype != "float32":
        raise ValueError(f"--serving_dtype={serving_dtype} is for a task model, the embedder or fill-mask; "
                         f"{folder} exports its encoder, which stays float32 (TF Hub's API, also for fine-tuning)")
    if task == ENCODER:
        return export_pretrained(None, folder, None, do_lower_case, export_base, model_name or "bert", version,
                                 max_seq_length, max_text_bytes, overwrite)
    inputs = model_inputs.resolve_model_inputs(folder, None, None, do_lower_case)
    max_seq_length = serving_seq_length(max_seq_length, inputs.config, os.path.join(folder, hf.CONFIG_FILE),
                                            default=SQUAD_MAX_SEQ_LENGTH if task == SQUAD else 128)
    values = hf.read_huggingface_values(folder)
    labels = hf.huggingface_labels(folder) or [f"LABEL_{i}" for i in range(int(values.get("num_labels", 2)))]
    model_class = TASK_MODELS[task]
    model = model_class(inputs.config, **({model_class.huggingface_labels_argument: len(labels)}
                                          if model_class.huggingface_labels_argument else {}))
    # transformers reads one output without a problem_type as regression, as BertForSequenceClassification does.
    is_regression = task == CLASSIFIER and (values.get("problem_type") == "regression"
                                            or (values.get("problem_type") is None and len(labels) == 1))
    info = TaskInfo(task, values.get("finetuning_task") or os.path.basename(os.path.normpath(folder)),
                    inputs.do_lower_case, max_seq_length,
                    labels=[] if task == SQUAD or is_regression else labels, is_regression=is_regression,
                    pair_input=bool(pair_input), squad=_squad_settings(max_seq_length) if task == SQUAD else None)
    arrays = model_inputs.fine_tuned_huggingface_arrays(model, folder, info)
    hf.assign_huggingface_arrays(model, arrays, source=folder)
    return export_task(model, info, inputs.vocab_file, export_base, model_name or f"bert_{task}", version,
                       export_encoder, export_preprocessing_model, pair_input, max_text_bytes, max_windows,
                       overwrite, inputs.tokenizer_options(), length_bucket=length_bucket, serving_dtype=serving_dtype)


def _squad_settings(max_seq_length: int) -> SquadSettings:
    """The reference's windows (question ≤ 64 pieces, stride 128), shrunk so a window keeps room for the context."""
    max_query_length = min(64, max_seq_length // 4)
    return SquadSettings(doc_stride=min(128, max(1, (max_seq_length - max_query_length - 3) // 2)),
                         max_query_length=max_query_length)
