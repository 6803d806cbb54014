"""Per-token activations of chosen encoder layers: google-research/bert `extract_features.py` on Keras.

Input: one text per line; a sentence pair is written `text_a ||| text_b`. Output: JSON lines, one per input
line, in the reference's schema:
  {"linex_index": line index, "features": [{"token": word piece, "layers": [{"index": layer, "values": [...]}]}]}
with every token of `[CLS] a [SEP] (b [SEP])` and values rounded to 6 decimals. `--layers` counts like Python
indexes into the encoder's layer outputs ("-1,-2,-3,-4": the last four). Each batch is padded only to its longest
line (`--fixed_length_batches` pads to `--max_seq_length`; the values are the same); `--mixed_precision=bf16` runs
the encoder in bfloat16 (values written as float32).

  python finetuning/extract_features.py --input_file=in.txt --output_file=out.jsonl --vocab_file=vocab.txt \
    --bert_config_file=bert_config.json --init_checkpoint=bert_model.ckpt --layers=-1,-2,-3,-4
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from keras_bert import cli
from keras_bert.files import DataFileError, read_lines
from keras_bert.models.encoder import BertEncoder
from keras_bert.tokenization.packing import trim_padding
from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.training import distribute, model_inputs, task_runner

logger = logging.getLogger(__name__)

_PAIR = re.compile(r"^(.*) \|\|\| (.*)$")


@dataclasses.dataclass(frozen=True)
class TextLine:
    """One input line: `unique_id` is its 0-based index (the reference's `linex_index`)."""

    unique_id: int
    text_a: str
    text_b: str | None = None


def read_text_lines(input_file: str) -> list[TextLine]:
    """Every line of `input_file`, stripped, split into a pair at ` ||| ` (as the reference's `read_examples`)."""
    examples = []
    for line_number, text in read_lines(input_file):
        text = text.strip()
        match = _PAIR.match(text)
        pair = (match.group(1), match.group(2)) if match else (text, None)
        examples.append(TextLine(line_number - 1, *pair))
    if not examples:
        raise DataFileError(input_file, None, "file is empty")
    return examples


def parse_layers(layers: str, num_hidden_layers: int) -> list[int]:
    """`--layers` ("-1,-2") → ints, each a valid index into `num_hidden_layers` layer outputs."""
    try:
        indexes = [int(x) for x in layers.split(",")]
    except ValueError:
        raise ValueError(f"--layers must be comma-separated integers, got {layers!r}") from None
    bad = [i for i in indexes if not -num_hidden_layers <= i < num_hidden_layers]
    if bad:
        raise ValueError(f"--layers {bad} out of range for a model of {num_hidden_layers} layers")
    return indexes


def _batches(examples: Sequence[TextLine], preprocessor: BertPreprocessor, batch_size: int,
             fixed_length: bool = False) -> Iterator[tuple[list[TextLine], dict[str, tf.Tensor]]]:
    """Consecutive runs of single texts or pairs, cut into batches and packed (to the batch's longest line unless
    `fixed_length`)."""
    start = 0
    while start < len(examples):
        is_pair = examples[start].text_b is not None
        end = start
        while end < len(examples) and end - start < batch_size and (examples[end].text_b is not None) == is_pair:
            end += 1
        chunk = examples[start:end]
        texts = tf.constant([ex.text_a for ex in chunk])
        inputs = preprocessor([texts, tf.constant([ex.text_b for ex in chunk])] if is_pair else texts)
        yield chunk, inputs if fixed_length else trim_padding(inputs)
        start = end


@cli.checks_arguments
@task_runner.restores_dtype_policy
def extract_features(input_file: str, output_file: str, vocab_file: str | None = None,
                     bert_config_file: str | None = None, init_checkpoint: str | None = None,
                     layers: str = "-1,-2,-3,-4",
                     do_lower_case: bool | None = None, max_seq_length: int = 128, batch_size: int = 32,
                     fixed_length_batches: bool = False, mixed_precision: str = "none") -> int:
    """Writes the JSON lines of `input_file` to `output_file` (arguments = the reference's flags;
    `init_checkpoint` a Google checkpoint or a Hugging Face folder, which fills in `bert_config_file`,
    `vocab_file` and `do_lower_case` when they are None).

    Returns the number of lines written.
    """
    if not init_checkpoint:
        raise ValueError("--init_checkpoint is required: features of a random model mean nothing")
    inputs = model_inputs.resolve_model_inputs(init_checkpoint, bert_config_file, vocab_file, do_lower_case,
                                               max_seq_length)
    config, vocab_file, do_lower_case = inputs.config, inputs.vocab_file, inputs.do_lower_case
    layer_indexes = parse_layers(layers, config.num_hidden_layers)
    examples = read_text_lines(input_file)
    distribute.set_mixed_precision(mixed_precision)
    encoder = BertEncoder.from_pretrained(init_checkpoint, config=config)
    preprocessor = BertPreprocessor(vocab_file, do_lower_case, max_seq_length, **inputs.tokenizer_options())
    vocab = preprocessor.tokenizer.vocab

    @tf.function(reduce_retracing=True)
    def chosen_layers(inputs: dict[str, tf.Tensor]) -> list[tf.Tensor]:
        outputs = encoder(inputs, training=False)["encoder_outputs"]
        return [tf.cast(outputs[i], tf.float32) for i in layer_indexes]

    written = 0
    with open(output_file, "w", encoding="utf-8") as writer:
        for chunk, inputs in _batches(examples, preprocessor, batch_size, fixed_length_batches):
            values = [v.numpy() for v in chosen_layers(inputs)]  # each float32 [batch, seq, hidden]
            ids, lengths = inputs["input_word_ids"].numpy(), inputs["input_mask"].numpy().sum(axis=1)
            for row, example in enumerate(chunk):
                writer.write(json.dumps(_line_record(example.unique_id, [vocab[i] for i in ids[row, :lengths[row]]],
                                                     layer_indexes, [v[row] for v in values])) + "\n")
                written += 1
    logger.info("wrote features of %d lines to %s", written, output_file)
    return written


def _line_record(unique_id: int, tokens: list[str], layer_indexes: list[int],
                 layer_values: list[np.ndarray]) -> dict[str, Any]:
    """The reference's JSON object for one line; `layer_values` float32 [seq, hidden] per chosen layer."""
    features = []
    for position, token in enumerate(tokens):
        features.append({"token": token, "layers": [
            {"index": index, "values": [round(float(x), 6) for x in values[position]]}
            for index, values in zip(layer_indexes, layer_values)]})
    return {"linex_index": unique_id, "features": features}


def _define_flags() -> None:
    cli.define_flags(extract_features, {
        "input_file": "Text file: one text, or `text_a ||| text_b`, per line.",
        "output_file": "JSON-lines output.",
        "layers": "Comma-separated layer indexes (negative from the top).",
        "batch_size": "Batch size for predictions.",
    })
    cli.define_inference_flags(extract_features)


def main() -> None:
    """The `bert-extract-features` command (`python finetuning/extract_features.py`)."""
    cli.run_program(extract_features, _define_flags)


if __name__ == "__main__":
    main()
