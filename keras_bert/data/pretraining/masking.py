"""Masked-LM selection as TensorFlow ops, shared by the offline generator and dynamic masking.

The rules are google-research/bert's `create_masked_lm_predictions`:

* `num_to_predict = min(max_predictions_per_seq, max(1, round(len(tokens) * masked_lm_prob)))`,
  where `len(tokens)` counts `[CLS]` and the `[SEP]`s (the `input_mask` sum) and `round` is
  Python's round-half-to-even, computed in float64 like Python.
* Candidates are words (whole-word masking) or single tokens; `[CLS]`, `[SEP]` and `[PAD]` are
  never candidates. Candidates are visited in a random order and a candidate is taken whole when
  it still fits into `num_to_predict`, otherwise skipped, so a word is never split.
* Each selected token independently becomes `[MASK]` with probability 0.8, stays itself with
  probability 0.1, or becomes a token drawn uniformly from `[0, vocab_size)` with probability 0.1.

All functions work on dense, statically shaped batches so they run inside `tf.data.Dataset.map`
(and under XLA where the caller wants it); randomness is stateless and comes from a `seed`
tensor of shape [2], so a caller decides whether masks repeat (offline records) or change every
epoch (dynamic masking).
"""

from __future__ import annotations

import tensorflow as tf

MASK_TOKEN_RATE = 0.8
RANDOM_TOKEN_RATE = 0.1


def num_to_predict(num_tokens: tf.Tensor, masked_lm_prob: float, max_predictions_per_seq: int) -> tf.Tensor:
    """How many tokens the reference masks in a sequence of `num_tokens` tokens.

    Args:
      num_tokens: int [batch], tokens including `[CLS]` and `[SEP]`s.
      masked_lm_prob: selection rate, e.g. 0.15.
      max_predictions_per_seq: the cap.

    Returns:
      int32 [batch] `min(max_predictions_per_seq, max(1, round_half_even(num_tokens * prob)))`.
    """
    # float64 and tf.round (half to even) reproduce Python's `int(round(n * p))` exactly.
    scaled = tf.cast(num_tokens, tf.float64) * tf.constant(masked_lm_prob, tf.float64)
    rounded = tf.cast(tf.round(scaled), tf.int32)
    return tf.minimum(max_predictions_per_seq, tf.maximum(1, rounded))


def candidate_word_ids(word_starts: tf.Tensor, candidates: tf.Tensor, whole_word: bool) -> tf.Tensor:
    """Numbers the masking candidates of each row.

    Args:
      word_starts: bool [batch, seq], True at the first word piece of a word. Ignored unless
        `whole_word`.
      candidates: bool [batch, seq], True at maskable tokens (not `[CLS]`, `[SEP]`, `[PAD]`).
      whole_word: whether all pieces of a word form one candidate.

    Returns:
      int32 [batch, seq]: the row-local index of the candidate each token belongs to, -1 at
      tokens that are not candidates. A piece at the start of a segment starts a new word even if
      it is a continuation piece (a word cut by truncation never joins a word across `[SEP]`).
    """
    candidates = tf.cast(candidates, tf.bool)
    if whole_word:
        previous_is_candidate = tf.pad(candidates[:, :-1], [[0, 0], [1, 0]])
        starts = candidates & (tf.cast(word_starts, tf.bool) | ~previous_is_candidate)
    else:
        starts = candidates
    index = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1
    return tf.where(candidates, index, -1)


def _select_candidates(word_ids: tf.Tensor, budget: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Greedy random candidate selection of the reference; returns bool [batch, seq] per token.

    Candidates are sorted by a random priority (the reference's shuffle). The reference walks them
    in order and takes each one that still fits into the remaining budget. A candidate too long
    now stays too long (the budget only shrinks), so each loop round takes the longest prefix of
    the still-fitting candidates in priority order; the loop ends when a round takes nothing, after
    at most `max(budget)` rounds and usually one or two.
    """
    batch = tf.shape(word_ids)[0]
    seq = tf.shape(word_ids)[1]
    row = tf.range(batch)[:, None]
    segment = tf.where(word_ids >= 0, row * seq + word_ids, batch * seq)
    lengths = tf.reshape(
        tf.math.unsorted_segment_sum(tf.ones([batch * seq], tf.int32), tf.reshape(segment, [-1]), batch * seq + 1)[:-1],
        [batch, seq],
    )
    priority = tf.random.stateless_uniform([batch, seq], seed=seed)
    priority = tf.where(lengths > 0, priority, 2.0)
    order = tf.argsort(priority, axis=1, stable=True)
    sorted_lengths = tf.gather(lengths, order, batch_dims=1)

    def take_fitting_prefix(remaining, taken):
        fits = (sorted_lengths > 0) & ~taken & (sorted_lengths <= remaining[:, None])
        running = tf.cumsum(tf.where(fits, sorted_lengths, 0), axis=1)
        newly = fits & (running <= remaining[:, None])
        return remaining - tf.reduce_sum(tf.where(newly, sorted_lengths, 0), axis=1), taken | newly

    def made_progress(remaining, taken):
        fits = (sorted_lengths > 0) & ~taken & (sorted_lengths <= remaining[:, None])
        return tf.reduce_any(fits)

    _, taken_sorted = tf.while_loop(
        made_progress,
        take_fitting_prefix,
        (budget, tf.zeros_like(sorted_lengths, tf.bool)),
        maximum_iterations=tf.reduce_max(budget) + 1,
    )
    inverse_order = tf.argsort(order, axis=1, stable=True)
    taken_per_word = tf.gather(taken_sorted, inverse_order, batch_dims=1)
    token_taken = tf.gather(taken_per_word, tf.maximum(word_ids, 0), batch_dims=1)
    return token_taken & (word_ids >= 0)


def mask_sequences(
    input_word_ids: tf.Tensor,
    input_mask: tf.Tensor,
    word_ids: tf.Tensor,
    seed: tf.Tensor,
    *,
    max_predictions_per_seq: int,
    masked_lm_prob: float,
    vocab_size: int,
    mask_id: int,
) -> dict[str, tf.Tensor]:
    """Chooses and applies the masked-LM predictions of packed sequences.

    Args:
      input_word_ids: int [batch, seq] packed ids (`[CLS] A [SEP] B [SEP] [PAD]...`).
      input_mask: int or bool [batch, seq], 1 at real tokens; its row sum is `len(tokens)`.
      word_ids: int32 [batch, seq] from `candidate_word_ids` (-1 = never masked).
      seed: int32/int64 [2], the stateless random seed.
      max_predictions_per_seq: P, the static length of the outputs.
      masked_lm_prob: selection rate.
      vocab_size: random replacements are uniform over `[0, vocab_size)`.
      mask_id: id of `[MASK]`.

    Returns:
      dict with `input_word_ids` (same dtype as given) [batch, seq] after replacement,
      int32 `masked_lm_positions` [batch, P] ascending then 0-padded, int32 `masked_lm_ids`
      [batch, P] the original ids there (0-padded) and float32 `masked_lm_weights` [batch, P]
      (1.0 for real predictions, 0.0 for padding).
    """
    if not 0.0 <= masked_lm_prob <= 1.0:
        raise ValueError(f"masked_lm_prob must lie in [0, 1], got {masked_lm_prob}")
    if max_predictions_per_seq < 1:
        raise ValueError(f"max_predictions_per_seq must be >= 1, got {max_predictions_per_seq}")
    ids = tf.convert_to_tensor(input_word_ids)
    word_ids = tf.cast(word_ids, tf.int32)
    seq_length = ids.shape[1]
    if seq_length is None:
        raise ValueError("mask_sequences needs a static sequence length (input_word_ids.shape[1])")
    select_seed, action_seed, random_id_seed = tf.unstack(
        tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3)
    )
    num_tokens = tf.reduce_sum(tf.cast(input_mask, tf.int32), axis=1)
    budget = num_to_predict(num_tokens, masked_lm_prob, max_predictions_per_seq)
    selected = _select_candidates(word_ids, budget, select_seed)

    action = tf.random.stateless_uniform(tf.shape(ids), seed=action_seed)
    random_ids = tf.random.stateless_uniform(
        tf.shape(ids), seed=random_id_seed, minval=0, maxval=vocab_size, dtype=tf.int32
    )
    replaced = tf.where(action < MASK_TOKEN_RATE, tf.constant(mask_id, ids.dtype), ids)
    replaced = tf.where(action >= MASK_TOKEN_RATE + RANDOM_TOKEN_RATE, tf.cast(random_ids, ids.dtype), replaced)
    masked_ids = tf.where(selected, replaced, ids)

    # Smallest positions first: top_k of the negated positions, non-selected pushed past the end.
    positions = tf.where(selected, tf.range(seq_length)[None, :], seq_length)
    k = min(max_predictions_per_seq, seq_length)
    smallest = -tf.math.top_k(-positions, k=k, sorted=True).values
    if k < max_predictions_per_seq:
        smallest = tf.pad(smallest, [[0, 0], [0, max_predictions_per_seq - k]], constant_values=seq_length)
    is_real = smallest < seq_length
    masked_lm_positions = tf.where(is_real, smallest, 0)
    masked_lm_ids = tf.where(is_real, tf.gather(tf.cast(ids, tf.int32), masked_lm_positions, batch_dims=1), 0)
    return {
        "input_word_ids": masked_ids,
        "masked_lm_positions": masked_lm_positions,
        "masked_lm_ids": masked_lm_ids,
        "masked_lm_weights": tf.cast(is_real, tf.float32),
    }
