"""The reference packing of google-research/bert's run_classifier.convert_single_example (`_truncate_seq_pair`,
`[CLS] a [SEP] b [SEP]`, zero padding), transcribed in plain Python as the oracle of the packing and
preprocessor tests, with batch helpers around it."""
import numpy as np
import tensorflow as tf

CLS, SEP = 101, 102  # ../shared/data/vocab/uncased_vocab.txt
SPECIAL = {"vocab_size": 30522, "start_of_sequence_id": CLS, "end_of_segment_id": SEP, "padding_id": 0, "mask_id": 103}


def reference_truncate_seq_pair(tokens_a: list, tokens_b: list, max_length: int) -> None:
    """google-research/bert `_truncate_seq_pair`: pops one token at a time from the longer list, in place."""
    while True:
        total_length = len(tokens_a) + len(tokens_b)
        if total_length <= max_length:
            break
        if len(tokens_a) > len(tokens_b):
            tokens_a.pop()
        else:
            tokens_b.pop()


def reference_pack(tokens_a: list, tokens_b: list | None, seq_length: int) -> dict[str, list[int]]:
    """google-research/bert run_classifier.convert_single_example, on ids."""
    tokens_a = list(tokens_a)
    tokens_b = None if tokens_b is None else list(tokens_b)
    if tokens_b is not None:
        reference_truncate_seq_pair(tokens_a, tokens_b, seq_length - 3)
    elif len(tokens_a) > seq_length - 2:
        tokens_a = tokens_a[:seq_length - 2]
    ids = [CLS] + tokens_a + [SEP]
    types = [0] * len(ids)
    if tokens_b is not None:
        ids += tokens_b + [SEP]
        types += [1] * (len(tokens_b) + 1)
    mask = [1] * len(ids)
    padding = [0] * (seq_length - len(ids))
    return {"input_word_ids": ids + padding, "input_mask": mask + padding, "input_type_ids": types + padding}


def reference_batch(segments_a: list[list[int]], segments_b: list[list[int]] | None,
                    seq_length: int) -> dict[str, np.ndarray]:
    """`reference_pack` of each row → int32 [batch, seq_length] per key."""
    packed = [reference_pack(a, None if segments_b is None else b, seq_length)
              for a, b in zip(segments_a, segments_b or segments_a)]
    return {key: np.array([p[key] for p in packed], np.int32) for key in packed[0]}


def random_segments(rng, count: int, max_length: int) -> list[list[int]]:
    """`count` lists of random ids in [1000, 30000), a fair share of them empty."""
    return [[rng.randrange(1000, 30000) for _ in range(rng.choice([0, rng.randint(0, max_length)]))]
            for _ in range(count)]


def assert_packed_equal(got: dict[str, tf.Tensor], expected: dict[str, np.ndarray], context: str) -> None:
    """Same keys, int32 values, equal rows; a failure shows the first differing row."""
    assert set(got) == set(expected)
    for key in expected:
        assert got[key].dtype == tf.int32, key
        mismatch = np.flatnonzero((got[key].numpy() != expected[key]).any(axis=1))
        assert not mismatch.size, (f"{context}: {key} differs in rows {mismatch[:5]}:\n"
                                   f"{got[key].numpy()[mismatch[0]]}\n{expected[key][mismatch[0]]}")
