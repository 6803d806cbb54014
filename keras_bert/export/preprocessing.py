"""SavedModel exports with TF Hub's APIs.

`export_preprocessing` writes BERT preprocessing with the TF Hub preprocessing API:

* the root is callable: string [batch] → dict of int32 [batch, 128] (`input_word_ids`,
  `input_mask`, `input_type_ids`), also exported as the `serving_default` signature; it tokenizes only the
  first `max_text_bytes` bytes of each string (`export_module.cut_texts`);
* `.tokenize` and `.tokenize_with_offsets` tokenize whole strings, as TF Hub's API does;
* `.tokenize(strings)` → int32 RaggedTensor [batch, (words), (pieces)], and
  `.tokenize.get_special_tokens_dict()` → dict of int32 scalars;
* `.tokenize_with_offsets(strings)` → (ids, begins, ends), each [batch, (words), (pieces)];
* `.bert_pack_inputs(segments, seq_length=...)`: a list of 1 or 2 int32 RaggedTensors of ragged
  rank 1 or 2 → the dict above with [batch, seq_length];
* `.vocab_file` (the asset `assets/vocab.txt`, as in every export) and `.do_lower_case` (bool variable).

It loads with `tf.saved_model.load` after `import tensorflow_text` (nothing of keras_bert is needed)
and runs inside `tf.data.Dataset.map`. Its graphs use TF core ops and a single TF-Text op,
`FastWordpieceTokenizeWithOffsets` (no `RoundRobinTrim`: truncation is plain TF arithmetic).
Minimum serving stack: verified with TensorFlow 2.20 + TF-Text 2.20, i.e. TensorFlow Serving 2.20.
Serving 2.12-2.19 bundle TF-Text 2.12.1, which registers FastWordpieceTokenizeWithOffsets too, so
they may load it, but that is untested here (no model server can be installed on these machines,
and a SavedModel written by TF 2.20 may carry op attributes older runtimes reject).
"""
from __future__ import annotations

import os

import tensorflow as tf

from keras_bert.export.export_module import ExportModule, cut_texts, string_spec, text_byte_budget
from keras_bert.tokenization.preprocessor import BertPreprocessor


def _segment_spec(ragged_rank: int) -> tf.RaggedTensorSpec:
    return tf.RaggedTensorSpec([None] * (ragged_rank + 1), tf.int32, ragged_rank=ragged_rank, row_splits_dtype=tf.int64)


class _Tokenize(tf.Module):
    """`.tokenize`: callable, with `get_special_tokens_dict` like TF Hub's tokenize layer."""

    def __init__(self, tokenizer):
        super().__init__(name="tokenize")
        special = tokenizer.get_special_tokens_dict()
        self.__call__ = tf.function(lambda text: tokenizer(text), input_signature=[string_spec("text")])
        self.get_special_tokens_dict = tf.function(
            lambda: {key: tf.constant(value, tf.int32) for key, value in special.items()}, input_signature=[]
        )


class _PreprocessingModule(ExportModule):
    def __init__(self, preprocessor: BertPreprocessor, max_text_bytes: int | None):
        tokenizer, packer = preprocessor.tokenizer, preprocessor.packer
        max_text_bytes = text_byte_budget(max_text_bytes, packer.seq_length)
        super().__init__(tokenizer.vocab_file, tokenizer.lower_case)
        self.tokenize = _Tokenize(tokenizer)
        self.tokenize_with_offsets = tf.function(tokenizer.tokenize_with_offsets, input_signature=[string_spec("text")])

        def bert_pack_inputs(inputs, seq_length=packer.seq_length):
            return packer(list(inputs), seq_length=seq_length)

        self.bert_pack_inputs = tf.function(bert_pack_inputs)
        for num_segments in (1, 2):
            for ragged_rank in (1, 2):
                segments = [_segment_spec(ragged_rank)] * num_segments
                self.bert_pack_inputs.get_concrete_function(segments)
                self.bert_pack_inputs.get_concrete_function(segments, seq_length=tf.TensorSpec([], tf.int32))
        self.__call__ = tf.function(lambda text: preprocessor(cut_texts(text, max_text_bytes)),
                                    input_signature=[string_spec("text")])


def export_preprocessing(preprocessor: BertPreprocessor, export_dir: str | os.PathLike,
                         max_text_bytes: int | None = None) -> None:
    """Writes `preprocessor` as a TF Hub-style preprocessing SavedModel to `export_dir`; the root call reads
    `max_text_bytes` of each string (None: `seq_length` × `export_module.BYTES_PER_PIECE`, which leaves every
    piece it packs of ordinary text unaffected)."""
    module = _PreprocessingModule(preprocessor, max_text_bytes)
    module.save(export_dir, {"serving_default": module.__call__.get_concrete_function()})
