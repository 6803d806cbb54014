"""The one packing rule of BERT inputs: `[CLS] a [SEP] (b [SEP])`, zero-based type ids, padding, and the
reference's `_truncate_seq_pair`.

Every packer in the library (the `BertPackInputs` layer, pretraining instances, SQuAD and CoNLL features)
takes its layout and truncation from here, so the rule is written once: in TF for batches
(`truncated_pair_lengths`, `pack_layout`, `packed_word_ids`) and in Python for host-side features
(`truncated_pair_lengths_py`, `pack_tokens_py`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import keras
import tensorflow as tf


def truncated_pair_lengths(length_a: tf.Tensor, length_b: tf.Tensor, budget) -> tuple[tf.Tensor, tf.Tensor]:
    """Lengths kept by the reference's `_truncate_seq_pair`, on a batch.

    The reference pops one token at a time from the longer segment, from `b` on ties. In closed form: if
    `b` is the shorter, it keeps min(len_b, ⌊budget/2⌋); otherwise `a` keeps min(len_a, ⌈budget/2⌉); the
    other gets the rest. (Round-robin trimming differs on ties.)

    Args:
        length_a: int64 [batch], the length of segment a.
        length_b: int64 [batch], the length of segment b.
        budget: int or int64 scalar tensor, the most tokens a and b may keep together.

    Returns:
        (kept_a, kept_b), int64 [batch] each.
    """
    budget = tf.cast(budget, tf.int64)
    fits = length_a + length_b <= budget
    keep_b_if_shorter = tf.minimum(length_b, budget // 2)
    keep_a_otherwise = tf.minimum(length_a, budget - budget // 2)
    a_longer = length_a > length_b
    keep_a = tf.where(fits, length_a, tf.where(a_longer, budget - keep_b_if_shorter, keep_a_otherwise))
    keep_b = tf.where(fits, length_b, tf.where(a_longer, keep_b_if_shorter, budget - keep_a_otherwise))
    return keep_a, keep_b


def truncated_pair_lengths_py(length_a: int, length_b: int, budget: int) -> tuple[int, int]:
    """`truncated_pair_lengths` on Python ints, for host-side code: the lengths (kept_a, kept_b)."""
    if length_a + length_b <= budget:
        return length_a, length_b
    if length_a > length_b:
        keep_b = min(length_b, budget // 2)
        return budget - keep_b, keep_b
    keep_a = min(length_a, budget - budget // 2)
    return keep_a, budget - keep_a


class PackedLayout(NamedTuple):
    """Where everything goes in a packed batch, each field [batch, seq_length].

    Attributes:
        segment: int64, 0 or 1 where the position holds a piece of segment a or b; -1 elsewhere ([CLS],
            [SEP], padding).
        offset: int64, the index of that piece within its segment; 0 where `segment` is -1.
        is_separator: bool, True at each [SEP].
        input_mask: int32, 1 on [CLS], the pieces and the [SEP]s; 0 on padding.
        input_type_ids: int32, 0 on `[CLS] a [SEP]`, 1 on `b [SEP]`, 0 on padding.
    """

    segment: tf.Tensor
    offset: tf.Tensor
    is_separator: tf.Tensor
    input_mask: tf.Tensor
    input_type_ids: tf.Tensor


def pack_layout(kept_lengths: Sequence[tf.Tensor], seq_length) -> PackedLayout:
    """The layout `[CLS] a [SEP] (b [SEP])`, then padding, of a batch of already truncated segments.

    Args:
        kept_lengths: one or two int64 [batch] tensors, the pieces each segment keeps; together with [CLS]
            and one [SEP] per segment they must fit in `seq_length`.
        seq_length: int or int scalar tensor, the packed length.

    Returns:
        A `PackedLayout` of [batch, seq_length] tensors.

    Example:
    >>> layout = pack_layout([tf.constant([2], tf.int64), tf.constant([1], tf.int64)], 7)
    >>> layout.segment.numpy().tolist(), layout.input_type_ids.numpy().tolist()
    ([[-1, 0, 0, -1, 1, -1, -1]], [[0, 0, 0, 0, 1, 1, 0]])
    """
    if len(kept_lengths) not in (1, 2):
        raise ValueError(f"pack_layout takes 1 or 2 segments, got {len(kept_lengths)}")
    kept = [tf.expand_dims(tf.cast(length, tf.int64), 1) for length in kept_lengths]  # [batch, 1]
    position = tf.expand_dims(tf.range(tf.cast(seq_length, tf.int64)), 0)  # [1, seq_length]
    shape = tf.stack([tf.shape(kept[0], out_type=tf.int64)[0], tf.cast(seq_length, tf.int64)])
    segment = tf.fill(shape, tf.constant(-1, tf.int64))
    offset = tf.zeros(shape, tf.int64)
    is_separator = tf.zeros(shape, tf.bool)
    type_ids = tf.zeros(shape, tf.int32)
    segment_start = tf.ones_like(kept[0])  # After [CLS].
    for index, keep in enumerate(kept):
        position_in_segment = position - segment_start
        inside = (position_in_segment >= 0) & (position_in_segment < keep)
        separator = tf.equal(position_in_segment, keep)
        segment = tf.where(inside, tf.constant(index, tf.int64), segment)
        offset = tf.where(inside, position_in_segment, offset)
        is_separator = is_separator | separator
        type_ids = tf.where(inside | separator, index, type_ids)
        segment_start = segment_start + keep + 1
    input_mask = tf.cast(position < segment_start, tf.int32)
    return PackedLayout(segment, offset, is_separator, input_mask, type_ids)


def packed_word_ids(layout: PackedLayout, pieces: tf.Tensor, special_tokens: Mapping[str, int]) -> tf.Tensor:
    """The `input_word_ids` of a layout: the pieces, [CLS], [SEP]s and padding.

    Args:
        layout: from `pack_layout`.
        pieces: int [batch, seq_length], the piece id at each position where `layout.segment >= 0` (the
            caller gathers them from wherever its segments live); other positions are ignored.
        special_tokens: `start_of_sequence_id` ([CLS]), `end_of_segment_id` ([SEP]) and optionally
            `padding_id` (default 0), e.g. `BertTokenizer.get_special_tokens_dict()`.

    Returns:
        int32 [batch, seq_length].
    """
    padding = tf.constant(special_tokens.get("padding_id", 0), tf.int32)
    ids = tf.where(layout.segment >= 0, tf.cast(pieces, tf.int32), padding)
    ids = tf.where(layout.is_separator, tf.constant(special_tokens["end_of_segment_id"], tf.int32), ids)
    is_start = tf.expand_dims(tf.equal(tf.range(tf.shape(ids)[1]), 0), 0)  # [CLS] is always first.
    return tf.where(is_start, tf.constant(special_tokens["start_of_sequence_id"], tf.int32), ids)


def pack_tokens_py(first: list, second: list | None, start, end) -> tuple[list, list[int]]:
    """The same layout, unpadded, on host Python lists (of ids or token strings).

    Args:
        first: segment a.
        second: segment b, or None for a single segment.
        start: what goes first ([CLS] or its id); end: what ends each segment ([SEP] or its id).

    Returns:
        (`[start] + first + [end] (+ second + [end])`, type ids: 0 on `[start] + first + [end]`, 1 after).
    """
    tokens = [start, *first, end]
    type_ids = [0] * len(tokens)
    if second is not None:
        tokens += [*second, end]
        type_ids += [1] * (len(second) + 1)
    return tokens, type_ids


class BertPackInputs(keras.layers.Layer):
    """One or two segments of ids → the encoder's inputs, as the reference's `convert_single_example`.

    Truncation: a single segment keeps its first seq_length − 2 pieces; a pair is cut by
    `truncated_pair_lengths` to seq_length − 3 pieces.

    Args:
        seq_length: int ≥ 3, the packed length.
        special_tokens_dict: `start_of_sequence_id`, `end_of_segment_id`, optionally `padding_id` (default
            0), e.g. `BertTokenizer.get_special_tokens_dict()`; other keys are kept and ignored.

    Call: a RaggedTensor [batch, (pieces)] or [batch, (words), (pieces)], or a list of one or two of them,
    and optionally `seq_length` (int or int scalar tensor) to override the layer's → dict of int32
    [batch, seq_length]: `input_word_ids` (`[CLS] a [SEP] (b [SEP])`, padded with `padding_id`),
    `input_mask` (1 on real tokens), `input_type_ids` (0 for `[CLS] a [SEP]`, 1 for `b [SEP]`).

    Example:
    >>> packer = BertPackInputs(6, {"start_of_sequence_id": 101, "end_of_segment_id": 102})
    >>> packer([tf.ragged.constant([[7, 8, 9]]), tf.ragged.constant([[5]])])["input_word_ids"].numpy().tolist()
    [[101, 7, 8, 102, 5, 102]]
    """

    def __init__(self, seq_length: int, special_tokens_dict: dict, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        if int(seq_length) < 3:
            raise ValueError(f"BertPackInputs: seq_length must be at least 3, got {seq_length}")
        self.seq_length = int(seq_length)
        self.special_tokens_dict = {k: int(v) for k, v in special_tokens_dict.items()}
        for key in ("start_of_sequence_id", "end_of_segment_id"):
            if key not in self.special_tokens_dict:
                raise ValueError(f"BertPackInputs: special_tokens_dict lacks {key!r}")

    def call(self, inputs, seq_length=None) -> dict[str, tf.Tensor]:
        segments = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(segments) not in (1, 2):
            raise ValueError(f"BertPackInputs takes 1 or 2 segments, got {len(segments)}")
        seq_length = tf.cast(self.seq_length if seq_length is None else seq_length, tf.int64)
        segments = [self._flatten(s) for s in segments]
        budget = seq_length - 1 - len(segments)
        lengths = [s.row_lengths() for s in segments]
        if len(segments) == 1:
            kept = [tf.minimum(lengths[0], budget)]
        else:
            kept = list(truncated_pair_lengths(lengths[0], lengths[1], budget))
        layout = pack_layout(kept, seq_length)
        shape = tf.stack([segments[0].nrows(), seq_length])
        pieces = tf.zeros(tf.cast(shape, tf.int32), tf.int32)
        for index, segment in enumerate(segments):
            dense = segment.to_tensor(default_value=0, shape=shape)  # Kept pieces all lie within seq_length.
            pieces = tf.where(tf.equal(layout.segment, index), tf.gather(dense, layout.offset, batch_dims=1), pieces)
        return {
            "input_word_ids": packed_word_ids(layout, pieces, self.special_tokens_dict),
            "input_mask": layout.input_mask,
            "input_type_ids": layout.input_type_ids,
        }

    @staticmethod
    def _flatten(segment) -> tf.RaggedTensor:
        if not isinstance(segment, tf.RaggedTensor):
            raise TypeError(f"BertPackInputs expects RaggedTensor segments, got {type(segment).__name__}")
        if segment.ragged_rank == 2:
            segment = segment.merge_dims(1, 2)
        if segment.ragged_rank != 1:
            raise ValueError(f"BertPackInputs expects ragged rank 1 or 2, got {segment.ragged_rank}")
        return tf.cast(segment, tf.int32)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(seq_length=self.seq_length, special_tokens_dict=self.special_tokens_dict)
        return config



def trim_padding(features: Mapping[str, tf.Tensor], multiple: int = 1, mask_key: str = "input_mask",
                 sequence_keys: Sequence[str] = ("input_word_ids", "input_mask", "input_type_ids")
                 ) -> dict[str, tf.Tensor]:
    """A packed batch cut to its longest row: only the padding columns every row shares are dropped.

    Args:
        features: dict of tensors; those named in `sequence_keys` are [batch, seq] (labels per token too, if listed).
        multiple: int ≥ 1, the kept length is rounded up to a multiple of it (at most seq), so a model sees a
            bounded number of shapes (serving: e.g. 16).
        mask_key: the [batch, seq] mask of real tokens (1) and padding (0), padding after the real tokens.

    Returns the dict with the `sequence_keys` tensors cut to [batch, kept]; other entries unchanged. The encoder's
    outputs on real tokens do not change: padding keys are masked out of attention (as the reference masks them).

    Example:
    >>> batch = {"input_word_ids": tf.constant([[101, 7, 102, 0, 0], [101, 102, 0, 0, 0]]),
    ...          "input_mask": tf.constant([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]]),
    ...          "input_type_ids": tf.zeros([2, 5], tf.int32)}
    >>> trim_padding(batch)["input_word_ids"].numpy().tolist()
    [[101, 7, 102], [101, 102, 0]]
    """
    kept = trimmed_length(features[mask_key], multiple)
    trimmed = dict(features)
    for key in sequence_keys:
        trimmed[key] = features[key][:, :kept]
    return trimmed


def trimmed_length(mask: tf.Tensor, multiple: int = 1) -> tf.Tensor:
    """The length `trim_padding` cuts a packed batch to: its longest row of `mask` [batch, seq] (1 real, 0 padding)
    rounded up to a multiple of `multiple` (an int ≥ 1), at most seq; 0 for a batch of 0 rows. int32 scalar."""
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    longest = tf.reduce_max(tf.concat([tf.reduce_sum(tf.cast(mask != 0, tf.int32), axis=1), [0]], axis=0))
    return tf.minimum(tf.shape(mask)[1], (longest + multiple - 1) // multiple * multiple)
