"""Exports fine-tuned (or pretrained) BERT models as SavedModels laid out for TensorFlow Serving.

    python -m saved_models.export --model_dir=/tmp/mrpc_output --export_base=/tmp/serving
    python -m saved_models.export --bert_config_file=.../bert_config.json --init_checkpoint=.../bert_model.ckpt \\
        --vocab_file=.../vocab.txt --do_lower_case --export_base=/tmp/serving
    python -m saved_models.export --init_checkpoint=.../hf_folder --export_base=/tmp/serving
    python -m saved_models.export --task=embedder --init_checkpoint=.../all-MiniLM-L6-v2 --export_base=/tmp/serving
    python -m saved_models.export --task=fill_mask --init_checkpoint=.../uncased_L-12_H-768_A-12 --export_base=...

`--model_dir` is a fine-tuning `--output_dir` (`task_info.json`, `model.keras` or `bert_model.ckpt.*`,
`bert_config.json`, `vocab.txt`); it writes the task model (`bert_classifier`, `bert_squad` or `bert_tagger`
unless `--model_name` says otherwise) and, with `--export_encoder` / `--export_preprocessing` (default on),
`<model_name>_encoder` and `<model_name>_preprocessing`. Without `--model_dir` it exports a pretrained
checkpoint: `bert_encoder` (with `.mlm` when the checkpoint has the masked-LM head) and `bert_preprocessing`.

`--init_checkpoint` may be a Hugging Face folder (config.json, weights, vocab.txt, tokenizer_config.json), which
needs no other model flag. With `--task=auto` (the default) config.json's `architectures` decides: a
BertForSequenceClassification, BertForTokenClassification or BertForQuestionAnswering folder becomes the
classifier, tagger or SQuAD model as a fine-tuning `--output_dir` would (its labels from `id2label`, sequence length
`--max_seq_length`, default 128, SQuAD 384), without training; any other BERT folder its encoder. `--task=encoder`
exports only the encoder of a fine-tuned folder; `--task=classifier|squad|tagger` requires that head.

`--task=embedder` (any checkpoint; the default for a sentence-transformers folder, one with modules.json) writes
`bert_embedder`: text → sentence embeddings, pooled by `--pooling` and L2-normalised with `--normalize` (a
sentence-transformers folder brings both). `--task=fill_mask` (a checkpoint with the masked-LM head) writes
`bert_fill_mask`: text with `[MASK]`s → the `--top_k` candidates for each.

Layout, as TensorFlow Serving expects (`keras_bert.export.serving_layout`): `<export_base>/<model_name>/<version>/`
(saved_model.pb, variables/, assets/vocab.txt, assets.extra/tf_serving_warmup_requests), version = the next free
integer unless `--version` is given, each version renamed into place once complete; `<export_base>/models.config`
lists every model under `/models/<model_name>` (the Docker image's mount point). Nothing inside a SavedModel
holds an absolute path.

Nothing is written unless every model of the export passes: each is smoke-tested (every signature called with its
warm-up request), and must serve the same signatures and labels as the latest version of its model name (else pass
`--overwrite_model`, which removes the earlier versions once the new one is in place, or another `--model_name`).
Each string of a request is tokenized up to a byte budget (`--max_text_bytes`, SQuAD: `--max_windows`), so work
per request is bounded (`keras_bert.export.export_module.cut_texts`).

Variable-length requests: the classifier, tagger, embedder and fill-mask models run each request batch at its
longest text rounded up to a multiple of `--length_bucket` word pieces (default 16; at most `max_seq_length`, so at
most max_seq_length / 16 shapes), with the outputs of fixed-length padding; `--length_bucket=0` pads every batch
to `max_seq_length`. The encoder and preprocessing models (TF Hub's API) keep their fixed seq_length, SQuAD its
fixed windows. `--serving_dtype=bfloat16` makes the task model, embedder or fill-mask model compute in bfloat16
(about twice as fast on CPUs with AVX512_BF16/AMX; inputs and outputs unchanged, probabilities within about 1e-2
of float32; `keras_bert.export.precision`); the encoder export stays float32.
"""
from __future__ import annotations

import os

from keras_bert import cli
from keras_bert.checkpoints.huggingface import is_huggingface_folder
from keras_bert.checkpoints.sentence_transformers import is_sentence_transformers_folder
from keras_bert.export.embedder import export_sentence_embedder
from keras_bert.export.export_module import BYTES_PER_PIECE, LENGTH_BUCKET
from keras_bert.export.fill_mask import DEFAULT_TOP_K, export_fill_mask_for_serving
from keras_bert.export.huggingface import AUTO, TASKS, export_huggingface
from keras_bert.export.precision import SERVING_DTYPES
from keras_bert.export.serving import DEFAULT_MAX_SEQ_LENGTH, export_finetuned, export_pretrained
from keras_bert.export.squad import DEFAULT_CONTEXT_PIECES
from keras_bert.layers.pooling import POOLING_MODES
from keras_bert.training.model_inputs import is_huggingface_checkpoint
from keras_bert.training.outputs import TASK_INFO_FILE

EMBEDDER, FILL_MASK = "embedder", "fill_mask"
ANY_CHECKPOINT_TASKS = (EMBEDDER, FILL_MASK)  # for any --init_checkpoint, not only a Hugging Face folder


@cli.checks_arguments
def export_for_serving(export_base: str, model_dir: str | None = None, model_name: str | None = None,
                       version: int | None = None, export_encoder: bool = True, export_preprocessing: bool = True,
                       pair_input: bool | None = None, bert_config_file: str | None = None,
                       init_checkpoint: str | None = None, vocab_file: str | None = None,
                       do_lower_case: bool | None = None, max_seq_length: int | None = None,
                       max_text_bytes: int | None = None, max_windows: int | None = None,
                       overwrite_model: bool = False, task: str = AUTO, pooling: str | None = None,
                       normalize: bool | None = None, top_k: int = DEFAULT_TOP_K,
                       length_bucket: int = LENGTH_BUCKET, serving_dtype: str = "float32") -> dict[str, str]:
    """Exports a fine-tuning `--output_dir` (`model_dir`), else the embedder or fill-mask model of `init_checkpoint`
    (`task`), else a Hugging Face folder (its task model or encoder as `task` says), else a pretrained Google
    checkpoint; prints and returns what was written ({"task", "encoder", "preprocessing", "embedder", "fill_mask",
    "models_config"}: path)."""
    options = {"length_bucket": length_bucket, "serving_dtype": serving_dtype}
    if task == AUTO and not model_dir and init_checkpoint and is_sentence_transformers_folder(init_checkpoint):
        task = EMBEDDER
    if task != EMBEDDER and (pooling is not None or normalize is not None):
        raise ValueError(f"--pooling and --normalize are for --task={EMBEDDER}, not --task={task}")
    if task in ANY_CHECKPOINT_TASKS:
        if model_dir or not init_checkpoint:
            raise ValueError(f"--task={task} exports the model of an --init_checkpoint, not a --model_dir")
        if task == EMBEDDER:
            written = export_sentence_embedder(init_checkpoint, export_base, model_name or "bert_embedder", version,
                                               bert_config_file, vocab_file, do_lower_case, pooling, normalize,
                                               max_seq_length, max_text_bytes, overwrite_model, **options)
        else:
            written = export_fill_mask_for_serving(init_checkpoint, export_base, model_name or "bert_fill_mask",
                                                   version, bert_config_file, vocab_file, do_lower_case,
                                                   max_seq_length, top_k, max_text_bytes, overwrite_model, **options)
        for key, path in written.items():
            print(f"{key}: {path}")
        return written
    if model_dir and not os.path.isfile(os.path.join(model_dir, TASK_INFO_FILE)) and is_huggingface_folder(model_dir):
        raise ValueError(f"--model_dir {model_dir} is a Hugging Face folder, not a fine-tuning --output_dir (no "
                         f"{TASK_INFO_FILE}): pass it as --init_checkpoint")
    huggingface = not model_dir and is_huggingface_checkpoint(init_checkpoint)
    if task != AUTO and not huggingface:
        raise ValueError(f"--task={task} is for a Hugging Face --init_checkpoint (a fine-tuning --model_dir says "
                         "its task in task_info.json; a Google checkpoint exports its encoder)")
    if huggingface and (bert_config_file or vocab_file):
        raise ValueError(f"--init_checkpoint {init_checkpoint} is a Hugging Face folder, which brings its config.json "
                         "and vocab.txt: leave out --bert_config_file and --vocab_file")
    if model_dir:
        written = export_finetuned(model_dir, export_base, model_name, version, export_encoder, export_preprocessing,
                                   pair_input, max_text_bytes, max_windows, overwrite_model, **options)
    elif huggingface:
        written = export_huggingface(init_checkpoint, export_base, task, model_name, version, export_encoder,
                                     export_preprocessing, pair_input, do_lower_case, max_seq_length, max_text_bytes,
                                     max_windows, overwrite_model, **options)
    else:
        given = {"bert_config_file": bert_config_file, "init_checkpoint": init_checkpoint, "vocab_file": vocab_file}
        missing = [name for name, value in given.items() if not value]
        if missing:
            raise ValueError(f"without --model_dir, pass --{', --'.join(missing)} (a pretrained export)")
        if serving_dtype != "float32":
            raise ValueError(f"--serving_dtype={serving_dtype} is for a task model (--model_dir), --task=embedder "
                             "or --task=fill_mask; a pretrained export writes the encoder, which stays float32")
        written = export_pretrained(bert_config_file, init_checkpoint, vocab_file, do_lower_case, export_base,
                                    model_name or "bert", version, max_seq_length, max_text_bytes, overwrite_model)
    for key, path in written.items():
        print(f"{key}: {path}")
    return written


def _define_flags() -> None:
    from absl import flags

    defaults = cli.parameter_defaults(export_for_serving)
    flags.DEFINE_string("model_dir", None, "Fine-tuning --output_dir to export (task_info.json, model.keras, ...).")
    flags.DEFINE_string("export_base", None, "Root of the TF Serving model folders.")
    flags.DEFINE_string("model_name", None,
                        "Serving model name (default bert_<task>, or bert for a pretrained export).")
    flags.DEFINE_integer("version", None, "Version folder number (default: the next free integer).")
    flags.DEFINE_bool("export_encoder", defaults["export_encoder"], "Also export the encoder (TF Hub encoder API).")
    flags.DEFINE_bool("export_preprocessing", defaults["export_preprocessing"],
                      "Also export the preprocessing model (TF Hub API).")
    flags.DEFINE_bool("pair_input", None, "Classifier: serving_default takes text_a + text_b (default: from the task).")
    flags.DEFINE_string("bert_config_file", None, "Pretrained export: the checkpoint's bert_config.json (default: "
                        "config.json of a Hugging Face --init_checkpoint).")
    flags.DEFINE_string("init_checkpoint", None, "Without --model_dir: the Google checkpoint prefix or release "
                        "folder, or a Hugging Face folder (see --task).")
    flags.DEFINE_string("vocab_file", None, "Pretrained export: the vocabulary (default: vocab.txt of a Hugging Face "
                        "--init_checkpoint).")
    flags.DEFINE_bool("do_lower_case", defaults["do_lower_case"], "Without --model_dir: lower-case the input. "
                      "Default: the casing in tokenizer_config.json of a Hugging Face --init_checkpoint, else True.")
    flags.DEFINE_enum("task", defaults["task"], [*TASKS, *ANY_CHECKPOINT_TASKS],
                      "What to export of --init_checkpoint. auto: a sentence-transformers folder (modules.json) "
                      "becomes the embedder; a Hugging Face folder follows config.json's architectures (a "
                      "BertForSequenceClassification, BertForTokenClassification or BertForQuestionAnswering folder "
                      "becomes the classifier, tagger or SQuAD model, with its id2label labels; others the encoder); "
                      "encoder: the encoder only; classifier, squad, tagger: that task model (the folder must hold "
                      "its head). Any checkpoint: embedder (sentence embeddings, see --pooling, --normalize); "
                      "fill_mask (the masked-LM head's --top_k candidates for each [MASK]).")
    flags.DEFINE_enum("pooling", None, list(POOLING_MODES), "--task=embedder: how token vectors become one "
                      "(default: the sentence-transformers folder's, else mean).")
    flags.DEFINE_bool("normalize", None, "--task=embedder: L2-normalise the embeddings (default: as the "
                      "sentence-transformers folder says, else no).")
    flags.DEFINE_integer("top_k", defaults["top_k"], "--task=fill_mask: candidates served for each mask.")
    flags.DEFINE_integer("max_seq_length", defaults["max_seq_length"],
                         "Without --model_dir: the sequence length of the preprocessing (default: the smaller of "
                         f"{DEFAULT_MAX_SEQ_LENGTH} (SQuAD: 384) and the config's max_position_embeddings).")
    flags.DEFINE_integer("max_text_bytes", defaults["max_text_bytes"],
                         "Bytes of each request string that are tokenized (classifier, tagger, preprocessing; "
                         f"default: max_seq_length x {BYTES_PER_PIECE}, enough for max_seq_length words of 200 "
                         "characters).")
    flags.DEFINE_integer("max_windows", defaults["max_windows"],
                         "SQuAD: the most windows scored per example, a longer context is answered from the part "
                         f"they cover (default: the fewest windows that cover {DEFAULT_CONTEXT_PIECES} pieces).")
    flags.DEFINE_integer("length_bucket", defaults["length_bucket"],
                         "Classifier, tagger, embedder, fill-mask: run each request batch at its longest text rounded "
                         "up to a multiple of this many word pieces (at most max_seq_length; a bounded number of "
                         "shapes); 0: pad every batch to max_seq_length (static shapes).")
    flags.DEFINE_enum("serving_dtype", defaults["serving_dtype"], list(SERVING_DTYPES),
                      "Compute precision of the task, embedder or fill-mask model: bfloat16 is about twice as fast "
                      "on CPUs with AVX512_BF16/AMX (inputs and outputs unchanged); the encoder export stays float32.")
    flags.DEFINE_bool("overwrite_model", defaults["overwrite_model"],
                      "Replace a model of the same name that serves other signatures or labels (its earlier "
                      "versions are removed once the new one is in place).")
    flags.mark_flag_as_required("export_base")


def main() -> None:
    cli.run_program(export_for_serving, _define_flags)


if __name__ == "__main__":
    main()
