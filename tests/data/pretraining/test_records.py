"""keras_bert.data.pretraining.records: the vectorised writer against `tf.train.Example` protos built field by
field as the reference's `write_instance_to_example_files` builds them, and the reader's renaming back to the
library's names."""
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from keras_bert.data.pretraining import records

SEQ, P = 8, 3
INSTANCES = {  # under the library's names, two instances
    "input_word_ids": [[101, 7, 103, 102, 9, 102, 0, 0], [101, 5, 102, 6, 6, 6, 102, 0]],
    "input_mask": [[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 0]],
    "input_type_ids": [[0, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1, 1, 0]],
    "masked_lm_positions": [[2, 0, 0], [3, 5, 0]],
    "masked_lm_ids": [[8, 0, 0], [4, 6, 0]],
    "masked_lm_weights": [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]],
    "next_sentence_labels": [[1], [0]],
}


def _reference_example(row: int) -> tf.train.Example:
    """The reference's record: its feature names, int64 lists and one float list."""
    def ints(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))

    return tf.train.Example(features=tf.train.Features(feature={
        "input_ids": ints(INSTANCES["input_word_ids"][row]),
        "input_mask": ints(INSTANCES["input_mask"][row]),
        "segment_ids": ints(INSTANCES["input_type_ids"][row]),
        "masked_lm_positions": ints(INSTANCES["masked_lm_positions"][row]),
        "masked_lm_ids": ints(INSTANCES["masked_lm_ids"][row]),
        "masked_lm_weights": tf.train.Feature(float_list=tf.train.FloatList(value=INSTANCES["masked_lm_weights"][row])),
        "next_sentence_labels": ints(INSTANCES["next_sentence_labels"][row]),
    }))


def _encoded():
    features = {name: tf.constant(values, tf.float32 if name == "masked_lm_weights" else tf.int32)
                for name, values in INSTANCES.items()}
    return records.encode_examples(features)


def test_encode_examples_writes_the_reference_records():
    serialized = _encoded().numpy()
    assert [tf.train.Example.FromString(s) for s in serialized] == [_reference_example(0), _reference_example(1)]


def test_reader_gives_the_library_names_back(tmp_path):
    path = str(tmp_path / "two.tfrecord")
    with records.PretrainingRecordWriter([path]) as writer:
        writer.write(_encoded())
    (x, y), = list(records.pretraining_dataset(path, 2, SEQ, P, is_training=False).as_numpy_iterator())
    for name in ("input_word_ids", "input_mask", "input_type_ids", "masked_lm_positions"):
        assert x[name].dtype == np.int32
        np.testing.assert_array_equal(x[name], INSTANCES[name])
    np.testing.assert_array_equal(y["masked_lm_ids"], INSTANCES["masked_lm_ids"])
    np.testing.assert_array_equal(y["masked_lm_weights"], INSTANCES["masked_lm_weights"])
    np.testing.assert_array_equal(y["next_sentence_labels"], [1, 0])
    assert y["masked_lm_weights"].dtype == np.float32 and y["next_sentence_labels"].dtype == np.int32


def test_writer_goes_round_robin_over_shards(tmp_path):
    paths = [str(tmp_path / f"shard_{i}.tfrecord") for i in range(3)]
    with records.PretrainingRecordWriter(paths) as writer:
        for _ in range(4):  # eight records: shards get 3, 3 and 2
            writer.write(_encoded())
    assert writer.num_written == 8
    counts = [sum(1 for _ in tf.data.TFRecordDataset(p)) for p in paths]
    assert counts == [3, 3, 2]
    first = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(paths[0])]
    assert first == [_reference_example(0), _reference_example(1), _reference_example(0)]



def _write_records(path, copies):
    """2 * copies records of SEQ, P."""
    with records.PretrainingRecordWriter([str(path)]) as writer:
        for _ in range(copies):
            writer.write(_encoded())
    return str(path)


def test_truncated_file_error_counts_the_good_records_before_the_cut(tmp_path):
    data = pathlib.Path(_write_records(tmp_path / "whole.tfrecord", 10)).read_bytes()
    record_size = len(data) // 20
    truncated = tmp_path / "truncated.tfrecord"
    truncated.write_bytes(data[:11 * record_size + record_size // 2])  # 11 whole records, half of the 12th
    with pytest.raises(records.CorruptRecordFileError, match="truncated.tfrecord .after 11 good records"):
        records.check_record_file(str(truncated), SEQ, P)


def test_record_of_other_lengths_is_named_by_its_index(tmp_path):
    mixed = tmp_path / "mixed.tfrecord"
    good = [r.numpy() for r in tf.data.TFRecordDataset(_write_records(tmp_path / "good.tfrecord", 3))]
    short = {name: tf.train.Feature(int64_list=tf.train.Int64List(value=[1] * 4)) for name in records.INT_FEATURES}
    with tf.io.TFRecordWriter(str(mixed)) as writer:
        for record in good[:5]:
            writer.write(record)
        writer.write(tf.train.Example(features=tf.train.Features(feature=short)).SerializeToString())
    with pytest.raises(records.CorruptRecordFileError, match=r"mixed.tfrecord does not hold .* \(record 5,"):
        records.check_record_file(str(mixed), SEQ, P)


def test_count_records_reads_no_further_than_asked(tmp_path):
    empty = tmp_path / "a_empty.tfrecord"
    empty.write_bytes(b"")
    full = _write_records(tmp_path / "b_full.tfrecord", 3)
    assert records.count_records(f"{tmp_path}/*.tfrecord", SEQ, P, limit=4) == 4
    assert records.count_records([str(empty), full], SEQ, P, limit=100) == 6
    assert records.count_records(str(empty), SEQ, P, limit=1) == 0
    with pytest.raises(records.CorruptRecordFileError, match="b_full.tfrecord.*seq_length=16"):
        records.count_records(f"{tmp_path}/*.tfrecord", 16, P, limit=1)


def test_repeating_files_without_records_is_an_error_not_an_endless_loop(tmp_path):
    empty = tmp_path / "empty.tfrecord"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="no records in the TFRecord files .*empty.tfrecord"):
        records.pretraining_dataset(str(empty), 2, SEQ, P, is_training=True)
    with pytest.raises(ValueError, match="empty.tfrecord"):
        records.pretraining_dataset(str(empty), 2, SEQ, P, is_training=False, repeat=True)
    assert not list(records.pretraining_dataset(str(empty), 2, SEQ, P, is_training=False))


def test_evaluation_can_keep_the_last_partial_batch(tmp_path):
    path = _write_records(tmp_path / "six.tfrecord", 3)
    kept = list(records.pretraining_dataset(path, 4, SEQ, P, is_training=False, drop_remainder=False))
    assert [len(y["next_sentence_labels"]) for _, y in kept] == [4, 2]
    dropped = list(records.pretraining_dataset(path, 4, SEQ, P, is_training=False))
    assert [len(y["next_sentence_labels"]) for _, y in dropped] == [4]
