"""SavedModels of the encoder and of end-to-end task models, for TensorFlow Serving and TF Hub-style reuse.

All exports load with `tf.saved_model.load` after `import tensorflow_text` (no keras_bert needed) and
carry the vocabulary as an asset (`assets/vocab.txt`) and `do_lower_case` as a bool variable.

`export_encoder(model, vocab_file, do_lower_case, export_dir)` — TF Hub's BERT encoder API:
  * root callable `encoder(inputs, training=False)`: inputs dict of int32 [batch, seq] `input_word_ids`,
    `input_mask`, `input_type_ids` → dict `pooled_output` float32 [batch, hidden], `sequence_output`
    [batch, seq, hidden], `encoder_outputs` (list of [batch, seq, hidden], one per layer), `default`
    (= pooled_output); `training=True` turns dropout on (for fine-tuning the reloaded encoder);
  * `encoder.mlm(inputs, training=False)` (only when `model` is a `BertPretrainer`): the same inputs plus
    int32 [batch, P] `masked_lm_positions` → the outputs above plus `mlm_logits` float32 [batch, P, vocab];
  * signatures `serving_default` (flat outputs: `encoder_outputs_<i>` for the list) and `mlm`.

`export_classifier(...)` — signatures (string [batch] inputs; batch 0 gives empty outputs):
  * `serving_default`: `text` (or `text_a` + `text_b` for sentence-pair tasks) →
    `probabilities` float32 [batch, classes], `label` string [batch], `label_id` int32 [batch];
    a regression task (STS-B) gives `score` float32 [batch] instead;
  * `classify_text` (always `text`) and `classify_pair` (always `text_a`, `text_b`).

`export_squad(...)` — `serving_default`: `question`, `context` string [batch] → `answer` string [batch],
  `start_char`, `end_char` int64 [batch] (code-point offsets in the context, end exclusive), `score`
  float32 [batch] (start + end logit). Long contexts are windowed in the graph exactly as the reference's
  `convert_examples_to_features` (`max_seq_length`, `doc_stride`, `max_query_length`), and the answer
  is chosen as the reference's SQuAD 1.1 post-processing (top `n_best_size` starts × ends per window,
  start must have its maximal context in the window, length ≤ `max_answer_length`). The answer text is
  the context from the start piece's first character to the end piece's last character (the
  reference's `get_final_text` when its alignment succeeds), invalid UTF-8 bytes in it replaced by U+FFFD.
  No valid span (e.g. empty context): `answer` "", offsets -1, `score` = float32 min (the reference prints
  the nonce "empty"). With `version_2_with_negative` (SQuAD 2.0) there is one more output,
  `null_score_diff` float32 [batch] (null score − best span score, as the reference's null_odds), and the
  answer is "" (offsets -1) when it exceeds `null_score_diff_threshold`.

`export_tagger(...)` — `serving_default`: `text` string [batch] → `tags` string [batch, words],
  `start_char`, `end_char` int64 [batch, words], `num_words` int32 [batch]. Words are the text's
  whitespace-separated tokens (as CoNLL files hold them); each is tagged at its first word piece;
  words cut off by `max_seq_length` are tagged "O" (as `keras_bert.data.tagging.conll`); rows are padded
  with tag "" and offsets -1.

Defined behaviour on bad input: bytes that are not valid UTF-8 are dropped by the tokenizer (character
offsets count each such byte as one U+FFFD); empty strings pack to `[CLS] [SEP]`; text beyond
`max_seq_length` word pieces is truncated as the reference does; a text_a/text_b or question/context
batch-size mismatch is an InvalidArgument error naming both inputs.

Minimum TensorFlow Serving version: 2.20.0, verified (tests/test_serving_contract.py: every op of every export
is registered by TF 2.20 core or TF-Text 2.20). The TF-Text ops used — FastWordpieceTokenizeWithOffsets, and
TFText>WhitespaceTokenizeWithOffsetsV2 (tagger only) — predate the TF-Text 2.12.1 that Serving 2.12–2.19
bundle, and RoundRobinTrim is not used; but Serving < 2.20 was not tested, for TF-Text or TF core ops.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
from collections.abc import Sequence

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert import upstream_workarounds
from keras_bert.models.encoder import ENCODER_INPUTS, BertEncoder
from keras_bert.models.task_models import BertPretrainer
from keras_bert.tokenization.tokenizer import BertPreprocessor

OUTSIDE_TAG = "O"  # keras_bert.data.tagging.conll's tag for words cut off by max_seq_length.
NO_ANSWER_SCORE = tf.float32.min


def _strings(name: str) -> tf.TensorSpec:
    return tf.TensorSpec([None], tf.string, name=name)


def _encoder_specs(with_positions: bool = False) -> dict[str, tf.TensorSpec]:
    specs = {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in ENCODER_INPUTS}
    if with_positions:
        specs["masked_lm_positions"] = tf.TensorSpec([None, None], tf.int32, name="masked_lm_positions")
    return specs


class _ExportModule(tf.__internal__.tracking.AutoTrackable):
    """The root of every export: vocabulary asset, `do_lower_case`, and the model's variables.

    `variables`, `trainable_variables` and `non_trainable_variables` are saved as lists, as TF Hub's
    models have them (Keras's dropout seed states are among `variables`: functions capture them).
    The vocabulary is copied to a temporary `vocab.txt` first, so that the SavedModel's asset is named
    `assets/vocab.txt` whatever the source file was called.
    """

    def __init__(self, model: keras.Model, vocab_file: str | os.PathLike, do_lower_case: bool):
        self.variables = list(model.variables)
        self.trainable_variables = list(model.trainable_variables)
        self.non_trainable_variables = list(model.non_trainable_variables)
        self._staging = tempfile.mkdtemp(prefix="keras_bert_export_")
        staged = pathlib.Path(self._staging) / "vocab.txt"
        shutil.copyfile(vocab_file, staged)
        self.vocab_file = tf.saved_model.Asset(str(staged))
        self.do_lower_case = tf.Variable(bool(do_lower_case), trainable=False, name="do_lower_case")

    def save(self, export_dir: str | os.PathLike, signatures: dict) -> None:
        try:
            tf.saved_model.save(self, os.fspath(export_dir), signatures=signatures)
        finally:
            shutil.rmtree(self._staging, ignore_errors=True)


# ----------------------------------------------------------------------------------------------- encoder


def _flat_encoder_outputs(outputs: dict) -> dict[str, tf.Tensor]:
    """Signature outputs must be a flat dict: the `encoder_outputs` list becomes `encoder_outputs_<i>`."""
    flat = {key: value for key, value in outputs.items() if key != "encoder_outputs"}
    flat.update({f"encoder_outputs_{i}": value for i, value in enumerate(outputs["encoder_outputs"])})
    return flat


def _float32(outputs: dict) -> dict:
    return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), outputs)


class _MaskedLM(tf.__internal__.tracking.AutoTrackable):
    """`.mlm`: encoder inputs + `masked_lm_positions` → encoder outputs + `mlm_logits`."""

    def __init__(self, pretrainer: BertPretrainer):
        self.pretrainer = pretrainer
        self.__call__ = tf.function(self._call)
        for training in (False, True):
            self.__call__.get_concrete_function(_encoder_specs(True), training=training)

    def _call(self, inputs, training=False):
        encoder_inputs = {name: inputs[name] for name in ENCODER_INPUTS}
        outputs = dict(self.pretrainer.encoder(encoder_inputs, training=training))
        sequence = outputs["sequence_output"]
        outputs["mlm_logits"] = self.pretrainer.get_layer("masked_lm")(
            sequence, inputs["masked_lm_positions"], training=training)
        return _float32(outputs)


class _EncoderModule(_ExportModule):
    def __init__(self, model: BertEncoder | BertPretrainer, vocab_file, do_lower_case: bool):
        encoder = model.encoder if isinstance(model, BertPretrainer) else model
        if not isinstance(encoder, BertEncoder):
            raise TypeError(f"export_encoder needs a BertEncoder or BertPretrainer, got {type(model).__name__}")
        super().__init__(model, vocab_file, do_lower_case)
        self.encoder = encoder
        self.__call__ = tf.function(self._call)
        for training in (False, True):
            self.__call__.get_concrete_function(_encoder_specs(), training=training)
        if isinstance(model, BertPretrainer):
            self.mlm = _MaskedLM(model)

    def _call(self, inputs, training=False):
        return _float32(dict(self.encoder(dict(inputs), training=training)))

    def signatures(self) -> dict:
        specs = _encoder_specs()
        serving = tf.function(lambda **inputs: _flat_encoder_outputs(self._call(inputs)), input_signature=None)
        signatures = {"serving_default": serving.get_concrete_function(**specs)}
        if hasattr(self, "mlm"):
            mlm = tf.function(lambda **inputs: _flat_encoder_outputs(self.mlm._call(inputs)))
            signatures["mlm"] = mlm.get_concrete_function(**_encoder_specs(True))
        return signatures


def export_encoder(model: BertEncoder | BertPretrainer, vocab_file: str | os.PathLike, do_lower_case: bool,
                   export_dir: str | os.PathLike) -> None:
    """Writes the encoder with TF Hub's encoder API (module docstring); `.mlm` when `model` is a BertPretrainer."""
    module = _EncoderModule(model, vocab_file, do_lower_case)
    module.save(export_dir, module.signatures())


# ------------------------------------------------------------------------------------------- helpers


def _char_offsets(texts: tf.Tensor, byte_offsets: tf.Tensor) -> tf.Tensor:
    """Byte offsets → code-point offsets: string [batch], int64 [batch, k] → int64 [batch, k].

    Each offset becomes the number of characters that start before it (invalid bytes count as one
    U+FFFD each), so a begin byte maps to its character's index and an exclusive end byte to the
    exclusive end character.
    """
    _, starts = tf.strings.unicode_decode_with_offsets(texts, "UTF-8", errors="replace")
    dense_starts = starts.to_tensor(default_value=tf.int64.max)
    return upstream_workarounds.searchsorted_rows(dense_starts, tf.cast(byte_offsets, tf.int64), side="left")


def _check_same_batch(first: tf.Tensor, second: tf.Tensor, names: tuple[str, str]) -> None:
    tf.debugging.assert_equal(
        tf.shape(first)[0], tf.shape(second)[0],
        message=f"`{names[0]}` and `{names[1]}` must have the same batch size")


def _row_positions(ragged: tf.RaggedTensor) -> tf.RaggedTensor:
    """Index of each value inside its row: [batch, (n)] → int64 [batch, (n)]."""
    return tf.ragged.range(ragged.row_lengths())


# ---------------------------------------------------------------------------------------- classifier


class _ClassifierModule(_ExportModule):
    def __init__(self, model: keras.Model, preprocessor: BertPreprocessor, labels: Sequence[str],
                 is_regression: bool, vocab_file, do_lower_case: bool):
        super().__init__(model, vocab_file, do_lower_case)
        if not is_regression and len(labels) != model.outputs[0].shape[-1]:
            raise ValueError(f"the classifier has {model.outputs[0].shape[-1]} outputs but {len(labels)} labels "
                             f"were given: {list(labels)}")
        self.model = model
        self.preprocessor = preprocessor
        self.is_regression = is_regression
        self.labels = tf.constant(list(labels) if labels else [""], tf.string)
        # Tokenization traced once and called by both signatures: its Unicode tables are stored only once.
        self.tokenize = tf.function(preprocessor.tokenizer, input_signature=[_strings("text")])
        self.classify_text = tf.function(self._classify_text, input_signature=[_strings("text")])
        self.classify_pair = tf.function(self._classify_pair,
                                         input_signature=[_strings("text_a"), _strings("text_b")])

    def _outputs(self, features: dict) -> dict[str, tf.Tensor]:
        logits = self.model(features, training=False)
        logits = tf.cast(logits["logits"] if isinstance(logits, dict) else logits, tf.float32)
        if self.is_regression:
            return {"score": logits[:, 0]}
        label_id = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return {"probabilities": tf.nn.softmax(logits, axis=-1), "label": tf.gather(self.labels, label_id),
                "label_id": label_id}

    def _classify_text(self, text):
        return self._outputs(self.preprocessor.packer([self.tokenize(text)]))

    def _classify_pair(self, text_a, text_b):
        _check_same_batch(text_a, text_b, ("text_a", "text_b"))
        return self._outputs(self.preprocessor.packer([self.tokenize(text_a), self.tokenize(text_b)]))


def export_classifier(model: keras.Model, preprocessor: BertPreprocessor, labels: Sequence[str],
                      export_dir: str | os.PathLike, *, is_regression: bool = False, pair_input: bool = False
                      ) -> None:
    """Writes a strings-in classifier (module docstring).

    Args:
      model: a `BertClassifier` (or any Keras model from the encoder input dict to `logits` [batch, classes]).
      preprocessor: the `BertPreprocessor` it was trained with (vocab, lower case, max_seq_length).
      labels: class names in class-id order ([] for regression).
      pair_input: `serving_default` takes `text_a` + `text_b` (sentence-pair tasks) instead of `text`.
    """
    tokenizer = preprocessor.tokenizer
    module = _ClassifierModule(model, preprocessor, labels, is_regression, tokenizer.vocab_file, tokenizer.lower_case)
    text = module.classify_text.get_concrete_function()
    pair = module.classify_pair.get_concrete_function()
    module.save(export_dir, {"serving_default": pair if pair_input else text,
                             "classify_text": text, "classify_pair": pair})


# --------------------------------------------------------------------------------------------- SQuAD


class _SquadModule(_ExportModule):
    def __init__(self, model: keras.Model, preprocessor: BertPreprocessor, doc_stride: int, max_query_length: int,
                 max_answer_length: int, n_best_size: int, version_2_with_negative: bool = False,
                 null_score_diff_threshold: float = 0.0):
        tokenizer = preprocessor.tokenizer
        super().__init__(model, tokenizer.vocab_file, tokenizer.lower_case)
        seq_length = preprocessor.packer.seq_length
        if seq_length <= max_query_length + 3:
            raise ValueError(f"max_seq_length ({seq_length}) must exceed max_query_length + 3 "
                             f"({max_query_length + 3}): no room would be left for the context")
        if doc_stride < 1:
            raise ValueError(f"doc_stride must be positive, got {doc_stride}")
        self.model = model
        self.preprocessor = preprocessor
        self.seq_length, self.doc_stride = seq_length, doc_stride
        self.max_query_length, self.max_answer_length = max_query_length, max_answer_length
        self.n_best_size = min(n_best_size, seq_length)
        self.version_2_with_negative = version_2_with_negative
        self.null_score_diff_threshold = null_score_diff_threshold
        # One traced tokenizer for questions and contexts: its Unicode tables are stored only once.
        self.tokenize_with_offsets = tf.function(tokenizer.tokenize_with_offsets, input_signature=[_strings("text")])
        self.answer = tf.function(self._answer, input_signature=[_strings("question"), _strings("context")])

    def _windows(self, question_pieces: tf.RaggedTensor, context_pieces: tf.RaggedTensor):
        """The reference's doc spans. Returns (window_example int64 [W], window_start int64 [W],
        window_length int64 [W], window_query [W, (q)], window_context [W, (c)])."""
        query_length = question_pieces.row_lengths()
        context_length = context_pieces.row_lengths()
        max_tokens = self.seq_length - 3 - query_length  # max_tokens_for_doc, per example
        stride = tf.minimum(max_tokens, self.doc_stride)
        extra = tf.maximum(context_length - max_tokens, 0)
        num_windows = 1 + (extra + stride - 1) // stride  # ceil; 1 when the context fits (or is empty)
        window_example = tf.repeat(tf.range(tf.size(num_windows, out_type=tf.int64)), num_windows)
        window_index = tf.ragged.range(num_windows).flat_values
        window_start = window_index * tf.gather(stride, window_example)
        window_length = tf.minimum(tf.gather(max_tokens, window_example),
                                   tf.gather(context_length, window_example) - window_start)
        window_length = tf.maximum(window_length, 0)
        flat_begin = tf.gather(context_pieces.row_starts(), window_example) + window_start
        take = tf.ragged.range(flat_begin, flat_begin + window_length)
        window_context = tf.gather(context_pieces.flat_values, take)
        window_query = tf.gather(question_pieces, window_example)
        return window_example, window_start, window_length, window_query, window_context

    @staticmethod
    def _max_context(window_example, window_start, window_length, num_context_pieces) -> tf.RaggedTensor:
        """bool [W, (window_length)]: this window gives the piece its maximal context (the reference's
        `_check_is_max_context`; among equal scores the first window wins)."""
        position = tf.ragged.range(window_length)  # [W, (length)]
        length = tf.cast(tf.expand_dims(window_length, 1), tf.float64)
        score = tf.minimum(tf.cast(position, tf.float64), length - 1 - tf.cast(position, tf.float64)) + 0.01 * length
        # Scores are multiples of 0.01: a 1e-6 penalty per window index breaks ties towards the first window.
        window_id = tf.cast(tf.range(tf.size(window_start, out_type=tf.int64)), tf.float64)
        score = score - 1e-6 * tf.expand_dims(window_id, 1)
        example_offset = tf.concat([[0], tf.cumsum(num_context_pieces)[:-1]], axis=0)
        piece = tf.expand_dims(tf.gather(example_offset, window_example) + window_start, 1) + position
        best = tf.math.unsorted_segment_max(score.flat_values, piece.flat_values,
                                            tf.reduce_sum(num_context_pieces))
        return score.with_flat_values(tf.equal(score.flat_values, tf.gather(best, piece.flat_values)))

    def _answer(self, question, context):
        _check_same_batch(question, context, ("question", "context"))
        question_pieces = self.tokenize_with_offsets(question)[0].merge_dims(1, 2)[:, :self.max_query_length]
        ids, begins, ends = (t.merge_dims(1, 2) for t in self.tokenize_with_offsets(context))
        window_example, window_start, window_length, window_query, window_context = self._windows(
            question_pieces, ids)
        features = self.preprocessor.packer([window_query, window_context])
        outputs = self.model(features, training=False)
        start_logits = tf.cast(outputs["start_logits"], tf.float32)  # [W, seq]
        end_logits = tf.cast(outputs["end_logits"], tf.float32)

        # Window position p holds context piece p - context_offset for 0 ≤ that < window_length.
        context_offset = tf.expand_dims(tf.gather(question_pieces.row_lengths(), window_example) + 2, 1)
        position = tf.range(self.seq_length, dtype=tf.int64)[tf.newaxis, :]
        local = position - context_offset  # [W, seq]
        in_context = (local >= 0) & (local < tf.expand_dims(window_length, 1))
        max_context = self._max_context(window_example, window_start, window_length, ids.row_lengths())
        max_context = tf.gather(max_context.to_tensor(default_value=False, shape=[None, self.seq_length]),
                                tf.clip_by_value(local, 0, self.seq_length - 1), batch_dims=1)
        valid_start = in_context & max_context & self._top_k_mask(start_logits)
        valid_end = in_context & self._top_k_mask(end_logits)
        span_length = position[0][tf.newaxis, :] - position[0][:, tf.newaxis]  # [start, end]: end - start
        allowed = (valid_start[:, :, tf.newaxis] & valid_end[:, tf.newaxis, :]
                   & (span_length >= 0) & (span_length < self.max_answer_length))  # [W, start, end]
        scores = tf.where(allowed, start_logits[:, :, tf.newaxis] + end_logits[:, tf.newaxis, :], -float("inf"))
        flat_best = tf.argmax(tf.reshape(scores, [-1, self.seq_length * self.seq_length]), axis=-1)
        window_score = tf.reduce_max(tf.reshape(scores, [-1, self.seq_length * self.seq_length]), axis=-1)
        best_start, best_end = flat_best // self.seq_length, flat_best % self.seq_length

        batch = tf.shape(question, out_type=tf.int64)[0]
        example_score = tf.math.unsorted_segment_max(window_score, window_example, batch)
        window_id = tf.range(tf.size(window_example, out_type=tf.int64))
        candidate = tf.where(tf.equal(window_score, tf.gather(example_score, window_example)), window_id,
                             tf.int64.max)
        best_window = tf.math.unsorted_segment_min(candidate, window_example, batch)  # first best window
        best_window = tf.minimum(best_window, tf.maximum(tf.size(window_example, out_type=tf.int64) - 1, 0))
        # (An example whose windows all score -inf gets float32 min from the segment max, hence this test.)
        found = tf.math.unsorted_segment_max(tf.cast(tf.math.is_finite(window_score), tf.int32), window_example,
                                             batch) > 0

        def piece_index(window_position):  # flat index into the context pieces of the chosen window
            return (ids.row_starts() + tf.gather(window_start, best_window)
                    + tf.gather(window_position, best_window) - tf.gather(context_offset[:, 0], best_window))

        # One spare entry, so that the gathers stay in range when nothing was found (e.g. no context pieces).
        spare = tf.zeros([1], tf.int64)
        flat_begins, flat_ends = tf.concat([begins.flat_values, spare], 0), tf.concat([ends.flat_values, spare], 0)
        safe = lambda index: tf.clip_by_value(index, 0, tf.size(begins.flat_values, tf.int64))
        begin_byte = tf.where(found, tf.gather(flat_begins, safe(piece_index(best_start))), 0)
        end_byte = tf.where(found, tf.gather(flat_ends, safe(piece_index(best_end))), 0)
        answer = tf.strings.substr(context, begin_byte, end_byte - begin_byte, unit="BYTE")
        # Invalid bytes inside the span become U+FFFD, so the answer is valid UTF-8 (JSON-safe for TF Serving).
        answer = tf.strings.unicode_transcode(answer, "UTF-8", "UTF-8", errors="replace")
        chars = _char_offsets(context, tf.stack([begin_byte, end_byte], axis=1))
        outputs = {"score": tf.where(found, example_score, NO_ANSWER_SCORE)}
        if self.version_2_with_negative:
            # The reference's SQuAD 2.0 rule: the null score is the smallest [CLS] start + end logit over the
            # windows; "" is predicted when it exceeds the best span's score by more than the threshold.
            null_score = tf.math.unsorted_segment_min(start_logits[:, 0] + end_logits[:, 0], window_example, batch)
            outputs["null_score_diff"] = tf.where(found, null_score - example_score, null_score)
            found = found & (outputs["null_score_diff"] <= self.null_score_diff_threshold)
        return {
            "answer": tf.where(found, answer, ""),
            "start_char": tf.where(found, chars[:, 0], -1),
            "end_char": tf.where(found, chars[:, 1], -1),
            **outputs,
        }

    def _top_k_mask(self, logits: tf.Tensor) -> tf.Tensor:
        """bool [W, seq]: among the window's `n_best_size` largest logits (ties to the lower index)."""
        _, top = tf.math.top_k(logits, k=self.n_best_size)
        hits = tf.one_hot(top, self.seq_length, on_value=True, off_value=False, dtype=tf.bool)
        return tf.reduce_any(hits, axis=1)


def export_squad(model: keras.Model, preprocessor: BertPreprocessor, export_dir: str | os.PathLike, *,
                 doc_stride: int = 128, max_query_length: int = 64, max_answer_length: int = 30,
                 n_best_size: int = 20, version_2_with_negative: bool = False,
                 null_score_diff_threshold: float = 0.0) -> None:
    """Writes a question + context → answer model (module docstring) from a `BertSpanLabeler`
    (outputs `start_logits`, `end_logits` [batch, seq]); flags as the reference's run_squad."""
    module = _SquadModule(model, preprocessor, doc_stride, max_query_length, max_answer_length, n_best_size,
                          version_2_with_negative, null_score_diff_threshold)
    module.save(export_dir, {"serving_default": module.answer.get_concrete_function()})


# -------------------------------------------------------------------------------------------- tagger


class _TaggerModule(_ExportModule):
    def __init__(self, model: keras.Model, preprocessor: BertPreprocessor, tags: Sequence[str]):
        tokenizer = preprocessor.tokenizer
        super().__init__(model, tokenizer.vocab_file, tokenizer.lower_case)
        if len(tags) != model.outputs[0].shape[-1]:
            raise ValueError(f"the tagger has {model.outputs[0].shape[-1]} outputs but {len(tags)} tags were given")
        self.model = model
        self.preprocessor = preprocessor
        self.tags = tf.constant(list(tags), tf.string)
        self.unknown_id = tokenizer.vocab.index("[UNK]")
        self._whitespace = tf_text.WhitespaceTokenizer()
        self.tag = tf.function(self._tag, input_signature=[_strings("text")])

    def _tag(self, text):
        words, word_begins, word_ends = self._whitespace.tokenize_with_offsets(text)  # [batch, (words)]
        pieces = self.preprocessor.tokenizer(words.flat_values).merge_dims(1, 2)  # [all words, (pieces)]
        # A word without pieces (only control characters) stands as [UNK], as keras_bert.data.tagging.conll does.
        empty = tf.cast(tf.equal(pieces.row_lengths(), 0), tf.int64)
        unknown = tf.RaggedTensor.from_row_lengths(tf.fill([tf.reduce_sum(empty)], self.unknown_id), empty)
        pieces = tf.concat([pieces, tf.cast(unknown, pieces.dtype)], axis=1)
        per_text = tf.RaggedTensor.from_row_splits(pieces, words.row_splits)  # [batch, (words), (pieces)]
        features = self.preprocessor.packer(per_text)
        logits = self.model(features, training=False)
        logits = tf.cast(logits["logits"] if isinstance(logits, dict) else logits, tf.float32)
        predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)  # [batch, seq]

        word_lengths = per_text.row_lengths(axis=2)  # [batch, (words)]
        first_piece = 1 + tf.cumsum(word_lengths, axis=1, exclusive=True)  # position after [CLS]
        kept = first_piece <= self.preprocessor.packer.seq_length - 2
        seq_length = self.preprocessor.packer.seq_length
        positions = tf.minimum(first_piece, seq_length - 1).to_tensor(default_value=0)
        tag_ids = tf.gather(predicted, positions, batch_dims=1)  # [batch, max words]
        tags = tf.where(kept.to_tensor(default_value=False), tf.gather(self.tags, tag_ids), OUTSIDE_TAG)
        is_word = tf.ones_like(words.values, tf.bool)
        is_word = words.with_flat_values(is_word).to_tensor(default_value=False)
        chars = _char_offsets(text, tf.concat([word_begins.to_tensor(), word_ends.to_tensor()], axis=1))
        num_words = tf.cast(words.row_lengths(), tf.int32)
        width = tf.shape(is_word)[1]
        return {
            "tags": tf.where(is_word, tags, ""),
            "start_char": tf.where(is_word, chars[:, :width], -1),
            "end_char": tf.where(is_word, chars[:, width:], -1),
            "num_words": num_words,
        }


def export_tagger(model: keras.Model, preprocessor: BertPreprocessor, tags: Sequence[str],
                  export_dir: str | os.PathLike) -> None:
    """Writes a text → per-word tags model (module docstring) from a `BertTokenClassifier`."""
    module = _TaggerModule(model, preprocessor, tags)
    module.save(export_dir, {"serving_default": module.tag.get_concrete_function()})
