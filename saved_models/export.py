"""Exports fine-tuned (or pretrained) BERT models as SavedModels laid out for TensorFlow Serving.

    python -m saved_models.export --model_dir=/tmp/mrpc_output --export_base=/tmp/serving
    python -m saved_models.export --bert_config_file=.../bert_config.json --init_checkpoint=.../bert_model.ckpt \\
        --vocab_file=.../vocab.txt --do_lower_case --export_base=/tmp/serving

`--model_dir` is a fine-tuning `--output_dir` (`task_info.json`, `model.keras` or `bert_model.ckpt.*`,
`bert_config.json`, `vocab.txt`); it writes the task model (`bert_classifier`, `bert_squad` or `bert_tagger`
unless `--model_name` says otherwise) and, with `--export_encoder` / `--export_preprocessing` (default on),
`<model_name>_encoder` and `<model_name>_preprocessing`. Without `--model_dir` it exports a pretrained
checkpoint: `bert_encoder` (with `.mlm` when the checkpoint has the masked-LM head) and `bert_preprocessing`.

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
"""
from __future__ import annotations

from keras_bert import cli
from keras_bert.export.export_module import BYTES_PER_PIECE
from keras_bert.export.serving import DEFAULT_MAX_SEQ_LENGTH, export_finetuned, export_pretrained
from keras_bert.export.squad import DEFAULT_CONTEXT_PIECES


@cli.checks_arguments
def export_for_serving(export_base: str, model_dir: str | None = None, model_name: str | None = None,
                       version: int | None = None, export_encoder: bool = True, export_preprocessing: bool = True,
                       pair_input: bool | None = None, bert_config_file: str | None = None,
                       init_checkpoint: str | None = None, vocab_file: str | None = None, do_lower_case: bool = True,
                       max_seq_length: int | None = None, max_text_bytes: int | None = None,
                       max_windows: int | None = None, overwrite_model: bool = False) -> dict[str, str]:
    """Exports a fine-tuning `--output_dir` (`model_dir`) or else a pretrained checkpoint; prints and returns
    what was written ({"task", "encoder", "preprocessing", "models_config"}: path)."""
    if model_dir:
        written = export_finetuned(model_dir, export_base, model_name, version, export_encoder, export_preprocessing,
                                   pair_input, max_text_bytes, max_windows, overwrite_model)
    else:
        given = {"bert_config_file": bert_config_file, "init_checkpoint": init_checkpoint, "vocab_file": vocab_file}
        missing = [name for name, value in given.items() if not value]
        if missing:
            raise ValueError(f"without --model_dir, pass --{', --'.join(missing)} (a pretrained export)")
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
    flags.DEFINE_string("bert_config_file", None, "Pretrained export: the checkpoint's bert_config.json.")
    flags.DEFINE_string("init_checkpoint", None, "Pretrained export: the Google checkpoint prefix or release folder.")
    flags.DEFINE_string("vocab_file", None, "Pretrained export: the vocabulary.")
    flags.DEFINE_bool("do_lower_case", defaults["do_lower_case"], "Pretrained export: lower-case the input.")
    flags.DEFINE_integer("max_seq_length", defaults["max_seq_length"],
                         "Pretrained export: the preprocessing model's sequence length (default: the smaller of "
                         f"{DEFAULT_MAX_SEQ_LENGTH} and the config's max_position_embeddings).")
    flags.DEFINE_integer("max_text_bytes", defaults["max_text_bytes"],
                         "Bytes of each request string that are tokenized (classifier, tagger, preprocessing; "
                         f"default: max_seq_length x {BYTES_PER_PIECE}, enough for max_seq_length words of 200 "
                         "characters).")
    flags.DEFINE_integer("max_windows", defaults["max_windows"],
                         "SQuAD: the most windows scored per example, a longer context is answered from the part "
                         f"they cover (default: the fewest windows that cover {DEFAULT_CONTEXT_PIECES} pieces).")
    flags.DEFINE_bool("overwrite_model", defaults["overwrite_model"],
                      "Replace a model of the same name that serves other signatures or labels (its earlier "
                      "versions are removed once the new one is in place).")
    flags.mark_flag_as_required("export_base")


def main() -> None:
    cli.run_program(export_for_serving, _define_flags)


if __name__ == "__main__":
    main()
