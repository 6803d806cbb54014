"""Masked-word prediction from the command line: each `[MASK]` of each text → the top-k tokens, their
probabilities and the text with the mask filled (`keras_bert.models.fill_mask.FillMask`).

  python inference/fill_mask.py --init_checkpoint=uncased_L-12_H-768_A-12 \
    --vocab_file=uncased_L-12_H-768_A-12/vocab.txt --bert_config_file=uncased_L-12_H-768_A-12/bert_config.json \
    --text="the woman went to the store and bought a [MASK] of shoes ." --top_k=5
  python inference/fill_mask.py --init_checkpoint=hf/bert-base-uncased --input_file=masked.txt --output_file=out.jsonl

`--init_checkpoint` must hold the masked-LM head (Google's `cls/predictions/*`; a Hugging Face BertForMaskedLM or
BertForPreTraining folder); a Hugging Face folder also gives the config, vocabulary and casing. Texts come from
`--text` (repeatable) or `--input_file` (one text per line). Prints a table; `--output_file` also writes JSON
lines, one per text: {"line", "text", "num_masks", "masks": [{"index", "position", "tokens", "scores",
"token_ids", "filled"}]}. A text without `[MASK]`, an empty one, one with more than `--max_predictions` masks or
a line that is not UTF-8 is an error naming it, before the model is loaded; a mask beyond `--max_seq_length`
pieces is not predicted, and the table and `num_masks` say so. Each batch is padded only to its longest text
(`--fixed_length_batches` pads to `--max_seq_length`: the same predictions); `--mixed_precision=bf16` runs the model
in bfloat16 (probabilities computed in float32).
"""
from __future__ import annotations

import dataclasses
import json
import logging

from keras_bert import cli
from keras_bert.files import DataFileError, read_lines
from keras_bert.models.fill_mask import FillMask, FillMaskResult, masked_text_problem
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.tokenization.masked_text import DEFAULT_MAX_PREDICTIONS, MaskedTextPacker
from keras_bert.training import distribute, model_inputs, task_runner

logger = logging.getLogger(__name__)


def read_texts(text: list[str] | None, input_file: str | None, max_predictions: int) -> list[str]:
    """The texts of `--text` or `--input_file` (exactly one of them), each checked by `masked_text_problem`."""
    if bool(text) == bool(input_file):
        raise ValueError("give the texts with either --text (repeatable) or --input_file (one text per line)")
    if text:
        for index, item in enumerate(text):
            if problem := masked_text_problem(item, max_predictions=max_predictions):
                raise ValueError(f"--text {index + 1} {problem}")
        return list(text)
    texts = []
    for line_number, line in read_lines(input_file):
        if problem := masked_text_problem(line, max_predictions=max_predictions):
            raise DataFileError(input_file, line_number, f"the text {problem}")
        texts.append(line)
    if not texts:
        raise DataFileError(input_file, None, "file is empty")
    return texts


@cli.checks_arguments
@task_runner.restores_dtype_policy
def fill_mask(init_checkpoint: str, text: list[str] | None = None, input_file: str | None = None,
              output_file: str | None = None, vocab_file: str | None = None, bert_config_file: str | None = None,
              do_lower_case: bool | None = None, max_seq_length: int = 128, top_k: int = 5,
              max_predictions: int = DEFAULT_MAX_PREDICTIONS, batch_size: int = 32,
              fixed_length_batches: bool = False, mixed_precision: str = "none") -> list[FillMaskResult]:
    """Predicts the masks of the texts, prints them as a table and writes `output_file` (JSON lines) if given.

    Args: the flags (see `_define_flags`); `init_checkpoint` a Google checkpoint or a Hugging Face folder, which
    fills in `bert_config_file`, `vocab_file` and `do_lower_case` when they are None.

    Returns the `FillMaskResult` of each text, in order.
    """
    if max_predictions < 1:
        raise ValueError(f"--max_predictions must be >= 1, got {max_predictions}")
    if top_k < 1:
        raise ValueError(f"--top_k must be >= 1, got {top_k}")
    texts = read_texts(text, input_file, max_predictions)
    inputs = model_inputs.resolve_model_inputs(init_checkpoint, bert_config_file, vocab_file, do_lower_case,
                                               max_seq_length)
    distribute.set_mixed_precision(mixed_precision)
    pretrainer = BertPretrainer.from_pretrained(init_checkpoint, config=inputs.config, required_heads=("masked_lm",))
    packer = MaskedTextPacker(inputs.vocab_file, inputs.do_lower_case, max_seq_length, max_predictions,
                              **inputs.tokenizer_options())
    results = FillMask(pretrainer, packer, fixed_length=fixed_length_batches)(texts, top_k=top_k, batch_size=batch_size)
    print(format_table(results))
    if output_file:
        with open(output_file, "w", encoding="utf-8") as writer:
            for line, result in enumerate(results, start=1):
                writer.write(json.dumps({"line": line, **dataclasses.asdict(result)}, ensure_ascii=False) + "\n")
        logger.info("wrote the predictions of %d texts to %s", len(results), output_file)
    return results


def format_table(results: list[FillMaskResult]) -> str:
    """The results as a readable table: per text, per mask, one row per candidate (probability, token, filled)."""
    lines = []
    for number, result in enumerate(results, start=1):
        lines.append(f"[{number}] {result.text}")
        for mask in result.masks:
            lines.append(f"  mask {mask.index + 1} of {result.num_masks} (position {mask.position}):")
            width = max(len(token) for token in mask.tokens)
            lines += [f"    {score:7.4f}  {token:<{width}}  {filled}"
                      for token, score, filled in zip(mask.tokens, mask.scores, mask.filled)]
        for index in range(len(result.masks), result.num_masks):
            lines.append(f"  mask {index + 1} of {result.num_masks}: not predicted, beyond --max_seq_length pieces")
    return "\n".join(lines)


def _define_flags() -> None:
    cli.define_flags(fill_mask, {
        "text": "A text holding [MASK] tokens (repeat the flag for several texts).",
        "input_file": "Text file: one text holding [MASK] tokens per line (instead of --text).",
        "output_file": "Also write the predictions here as JSON lines.",
        "top_k": "Candidates per mask.",
        "max_predictions": "The most [MASK] tokens a text may hold.",
        "batch_size": "Texts per model call.",
    })
    cli.define_inference_flags(fill_mask)


def main() -> None:
    """The `bert-fill-mask` command (`python inference/fill_mask.py`)."""
    cli.run_program(fill_mask, _define_flags)


if __name__ == "__main__":
    main()
