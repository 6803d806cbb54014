"""A question + context → answer model (SQuAD) as a SavedModel for TensorFlow Serving.

`serving_default`: `question`, `context` string [batch] → `answer` string [batch], `start_char`, `end_char`
int64 [batch] (code-point offsets in the context, end exclusive), `score` float32 [batch] (start + end logit).
Long contexts are windowed in the graph exactly as the reference's `convert_examples_to_features`
(`max_seq_length`, `doc_stride`, `max_query_length`), and the answer is chosen as the reference's SQuAD 1.1
post-processing (top `n_best_size` starts × ends per window, start must have its maximal context in the
window, length ≤ `max_answer_length`). The answer text is the context from the start piece's first character
to the end piece's last character (the reference's `get_final_text` when its alignment succeeds), invalid
UTF-8 bytes in it replaced by U+FFFD. No valid span (e.g. empty context): `answer` "", offsets -1, `score` =
float32 min (the reference prints the nonce "empty"). With `version_2_with_negative` (SQuAD 2.0) there is one
more output, `null_score_diff` float32 [batch] (null score − best span score, as the reference's null_odds),
and the answer is "" (offsets -1) when it exceeds `null_score_diff_threshold`.

Bounded work per example: at most `max_windows` windows are scored (by default the fewest that cover
`DEFAULT_CONTEXT_PIECES` context pieces whatever the question's length: 15 at the reference's max_seq_length 384,
doc_stride 128 and max_query_length 64), so a context longer than they cover is answered as the reference answers
the part they cover, as if the context ended there (the reference has no limit); only the bytes those windows can
use are tokenized, `(max_seq_length − 3 + (max_windows − 1) × doc_stride) × BYTES_PER_PIECE` of the context and
`max_query_length × BYTES_PER_PIECE` of the question (`export_module.cut_texts`).
"""
from __future__ import annotations

import os

import keras
import tensorflow as tf

from keras_bert.export.export_module import (
    ExportModule,
    char_offsets,
    check_same_batch,
    cut_texts,
    default_max_text_bytes,
    string_spec,
)
from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.training.outputs import SquadSettings

NO_ANSWER_SCORE = tf.float32.min
DEFAULT_CONTEXT_PIECES = 2048  # about 1,500 English words


def default_max_windows(seq_length: int, settings: SquadSettings) -> int:
    """The fewest windows that cover `DEFAULT_CONTEXT_PIECES` context pieces after the longest question."""
    room = seq_length - 3 - settings.max_query_length  # context pieces in a window after the longest question
    stride = min(room, settings.doc_stride)
    return 1 + max(0, -(-(DEFAULT_CONTEXT_PIECES - room) // stride))  # (-(-a // b): a / b rounded up)


class _SquadModule(ExportModule):
    def __init__(self, model: keras.Model, preprocessor: BertPreprocessor, settings: SquadSettings,
                 max_windows: int | None = None):
        seq_length = preprocessor.packer.seq_length
        if seq_length <= settings.max_query_length + 3:
            raise ValueError(f"max_seq_length ({seq_length}) must exceed max_query_length + 3 "
                             f"({settings.max_query_length + 3}): no room would be left for the context")
        if settings.doc_stride < 1:
            raise ValueError(f"doc_stride must be positive, got {settings.doc_stride}")
        if max_windows is not None and max_windows < 1:
            raise ValueError(f"max_windows must be positive, got {max_windows}")
        max_windows = max_windows or default_max_windows(seq_length, settings)
        tokenizer = preprocessor.tokenizer
        super().__init__(tokenizer.vocab_file, tokenizer.lower_case, model)
        self.model = model
        self.preprocessor = preprocessor
        self.seq_length, self.doc_stride = seq_length, settings.doc_stride
        self.max_query_length, self.max_answer_length = settings.max_query_length, settings.max_answer_length
        self.n_best_size = min(settings.n_best_size, seq_length)
        self.version_2_with_negative = settings.version_2_with_negative
        self.null_score_diff_threshold = settings.null_score_diff_threshold
        self.max_windows = max_windows
        self.max_question_bytes = default_max_text_bytes(settings.max_query_length)
        self.max_context_bytes = default_max_text_bytes(seq_length - 3 + (max_windows - 1) * settings.doc_stride)
        # One traced tokenizer for questions and contexts: its Unicode tables are stored only once.
        self.tokenize_with_offsets = tf.function(tokenizer.tokenize_with_offsets, input_signature=[string_spec("text")])
        self.answer = tf.function(self._answer, input_signature=[string_spec("question"), string_spec("context")])

    def _windows(self, question_pieces: tf.RaggedTensor, context_pieces: tf.RaggedTensor):
        """The reference's doc spans. Returns (window_example int64 [W], window_start int64 [W],
        window_length int64 [W], window_query [W, (q)], window_context [W, (c)])."""
        query_length = question_pieces.row_lengths()
        context_length = context_pieces.row_lengths()
        max_tokens = self.seq_length - 3 - query_length  # max_tokens_for_doc, per example
        stride = tf.minimum(max_tokens, self.doc_stride)
        extra = tf.maximum(context_length - max_tokens, 0)
        num_windows = 1 + (extra + stride - 1) // stride  # ceil; 1 when the context fits (or is empty)
        num_windows = tf.minimum(num_windows, self.max_windows)
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
        check_same_batch(question, context, ("question", "context"))
        question = cut_texts(question, self.max_question_bytes)
        context = cut_texts(context, self.max_context_bytes)
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

        def safe(index):
            return tf.clip_by_value(index, 0, tf.size(begins.flat_values, tf.int64))

        begin_byte = tf.where(found, tf.gather(flat_begins, safe(piece_index(best_start))), 0)
        end_byte = tf.where(found, tf.gather(flat_ends, safe(piece_index(best_end))), 0)
        answer = tf.strings.substr(context, begin_byte, end_byte - begin_byte, unit="BYTE")
        # Invalid bytes inside the span become U+FFFD, so the answer is valid UTF-8 (JSON-safe for TF Serving).
        answer = tf.strings.unicode_transcode(answer, "UTF-8", "UTF-8", errors="replace")
        chars = char_offsets(context, tf.stack([begin_byte, end_byte], axis=1))
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


def export_squad(model: keras.Model, preprocessor: BertPreprocessor, export_dir: str | os.PathLike,
                 settings: SquadSettings | None = None, max_windows: int | None = None) -> None:
    """Writes a question + context → answer model (module docstring).

    Args:
      model: a `BertSpanLabeler` (or any Keras model from the encoder input dict to `start_logits`,
        `end_logits` float [batch, seq]).
      preprocessor: the `BertPreprocessor` it was trained with (vocab, lower case, max_seq_length).
      export_dir: str or path, the SavedModel folder to write.
      settings: `SquadSettings`, the windowing and post-processing flags of the reference's run_squad
        (None: its defaults, which are the reference's).
      max_windows: int, the most windows scored per example; None: `default_max_windows` (module docstring).
    """
    module = _SquadModule(model, preprocessor, settings or SquadSettings(), max_windows)
    module.save(export_dir, {"serving_default": module.answer.get_concrete_function()})
