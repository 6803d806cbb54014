"""Streaming `create_pretraining_data` (`max_documents_in_memory`, one output per input file): the shard recipe
(shards run apart give the records of one run), the reference's statistics, bounded chunks and bad input."""
import gzip
import pathlib
import shutil

import pytest
import tensorflow as tf

from keras_bert.data.pretraining.corpus import read_corpus, read_documents
from keras_bert.data.pretraining.create import create_pretraining_data
from keras_bert.data.pretraining.instances import PretrainingDataOptions
from keras_bert.files import DataFileError
from pretraining.create_pretraining_data import create_pretraining_data as program
from support.pretraining_fixtures import reference_create_pretraining_data, write_sst2_corpus
from support.record_statistics import record_statistics

SEQ, P = 64, 10
OPTIONS = PretrainingDataOptions(max_seq_length=SEQ, max_predictions_per_seq=P, dupe_factor=2, random_seed=3)


@pytest.fixture(scope="module")
def shards(shared_data, tmp_path_factory):
    """Two SST-2 corpus files of 250 and 125 eight-sentence documents."""
    folder = tmp_path_factory.mktemp("shards")
    whole = pathlib.Path(write_sst2_corpus(shared_data, folder / "whole.txt", 3000))
    documents = whole.read_text(encoding="utf-8").split("\n\n")
    (folder / "a.txt").write_text("\n\n".join(documents[:250]) + "\n\n", encoding="utf-8")
    (folder / "b.txt").write_text("\n\n".join(documents[250:375]) + "\n\n", encoding="utf-8")
    return [str(folder / "a.txt"), str(folder / "b.txt")]


def _records(path):
    return [record.numpy() for record in tf.data.TFRecordDataset(str(path))]


def _run(inputs, output, vocab, max_documents=40, num_workers=2):
    return create_pretraining_data(inputs, output, str(vocab), True, OPTIONS, num_workers=num_workers,
                                   max_documents_in_memory=max_documents)


@pytest.fixture(scope="module")
def together(shards, uncased_vocab, tmp_path_factory):
    """Both shards in one run, one output per input: the summary."""
    return _run(",".join(shards), f"{tmp_path_factory.mktemp('together')}/", uncased_vocab)


def test_shards_run_apart_on_other_machines_give_the_records_of_one_run(shards, together, uncased_vocab, tmp_path):
    assert [pathlib.Path(f).name for f in together.output_files] == ["a.tfrecord", "b.tfrecord"]
    # Each shard alone, from another folder, with one worker: what each machine of a job array runs.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for shard, output in zip(shards, together.output_files):
        copy = shutil.copy(shard, elsewhere)
        apart = _run(copy, str(tmp_path / "apart" / "*-records.tfrecord"), uncased_vocab, num_workers=1)
        assert len(_records(output)) > 200
        assert _records(output) == _records(apart.output_files[0])
    assert not list(tmp_path.rglob("*.partial"))


def test_streaming_into_one_file_concatenates_the_shards(shards, together, uncased_vocab, tmp_path):
    one = _run(",".join(shards), str(tmp_path / "one.tfrecord"), uncased_vocab)
    assert one.num_instances == together.num_instances
    assert _records(tmp_path / "one.tfrecord") == sum((_records(f) for f in together.output_files), [])
    # Without the flag the whole corpus is one pool, shuffled as a whole: other records, same documents.
    whole = create_pretraining_data(",".join(shards), str(tmp_path / "whole.tfrecord"), str(uncased_vocab), True,
                                    OPTIONS)
    assert whole.num_documents == one.num_documents == 375
    assert _records(tmp_path / "whole.tfrecord") != _records(tmp_path / "one.tfrecord")


def test_streaming_statistics_match_the_reference(shared_data, uncased_vocab, tmp_path):
    corpus = write_sst2_corpus(shared_data, tmp_path / "sst2.txt", 6000)
    options = PretrainingDataOptions(max_seq_length=SEQ, max_predictions_per_seq=P, dupe_factor=1)
    create_pretraining_data(corpus, f"{tmp_path}/ours/", str(uncased_vocab), True, options,
                            max_documents_in_memory=50)  # 15 chunks of 50 documents
    reference_create_pretraining_data(corpus, str(tmp_path / "reference.tfrecord"), str(uncased_vocab),
                                      max_seq_length=SEQ, max_predictions_per_seq=P, dupe_factor=1)
    ours = record_statistics(f"{tmp_path}/ours/sst2.tfrecord", SEQ, P)
    reference = record_statistics(str(tmp_path / "reference.tfrecord"), SEQ, P)
    assert ours["num_instances"] == pytest.approx(reference["num_instances"], rel=0.05)
    assert ours["mean_masked_share"] == pytest.approx(reference["mean_masked_share"], abs=0.01)
    assert ours["random_next_share"] == pytest.approx(reference["random_next_share"], abs=0.03)
    assert ours["mean_num_tokens"] == pytest.approx(reference["mean_num_tokens"], rel=0.03)


def test_documents_are_read_a_bounded_number_at_a_time(shards):
    chunks = list(read_documents(shards[0], max_documents=40))
    documents = [sum(1 for i, line in enumerate(chunk) if line and (i + 1 == len(chunk) or not chunk[i + 1]))
                 for chunk in chunks]
    assert documents == [40] * 6 + [10]
    assert sum(chunks, []) == read_corpus([shards[0]])[0]


def test_errors_in_later_blocks_name_the_line_of_the_file(tmp_path):
    """Files are checked a block (4 MiB) at a time; line numbers still count from the file's start."""
    big = tmp_path / "big.txt"
    line = "a sentence of the corpus that is repeated many times over.\n"
    lines = 9_000_000 // len(line)
    big.write_bytes((line * lines).encode() + b"binary \0 data\n")
    with pytest.raises(DataFileError, match=rf"big.txt, line {lines + 1}: a NUL byte"):
        list(read_documents(str(big), max_documents=1000))


def test_a_failed_streaming_run_keeps_earlier_outputs(shared_data, uncased_vocab, tmp_path):
    good = shared_data / "pretraining" / "sample_text.txt"
    bad = tmp_path / "c.txt"
    bad.write_bytes(gzip.compress(good.read_bytes()))
    output = tmp_path / "one.tfrecord"
    output.write_bytes(b"records of an earlier run")
    with pytest.raises(DataFileError, match="c.txt"):  # after the records of the good file are written
        _run(f"{good},{bad}", str(output), uncased_vocab, max_documents=2)
    assert output.read_bytes() == b"records of an earlier run"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_bad_streaming_arguments_are_errors_naming_them(shards, uncased_vocab, tmp_path):
    twin = tmp_path / "twin"
    twin.mkdir()
    same_name = shutil.copy(shards[0], twin)
    with pytest.raises(ValueError, match="--input_file: .*a.txt and .*twin/a.txt have the same file name"):
        _run(f"{shards[0]},{same_name}", str(tmp_path / "o.tfrecord"), uncased_vocab)
    other_extension = shutil.copy(shards[0], tmp_path / "a.md")
    with pytest.raises(ValueError, match=r"--output_file .*: inputs .*a.txt and .*a.md would both write"):
        _run(f"{shards[0]},{other_extension}", f"{tmp_path}/out/", uncased_vocab)
    with pytest.raises(ValueError, match="a pattern holds one"):
        _run(shards[0], f"{tmp_path}/*/*.tfrecord", uncased_vocab)
    with pytest.raises(ValueError, match="--output_file"):
        _run(shards[0], f"{tmp_path}/x.tfrecord,{tmp_path}/*.tfrecord", uncased_vocab)
    with pytest.raises(ValueError, match="--max_documents_in_memory must be >= 1"):
        program(input_file=shards[0], output_file=str(tmp_path / "o.tfrecord"), vocab_file=str(uncased_vocab),
                max_documents_in_memory=0)
    assert not (tmp_path / "o.tfrecord").exists() and not (tmp_path / "out").exists()


def test_program_streams_with_the_flag(shards, together, uncased_vocab, tmp_path):
    summary = program(input_file=",".join(shards), output_file=str(tmp_path), vocab_file=str(uncased_vocab),
                      max_seq_length=SEQ, max_predictions_per_seq=P, dupe_factor=2, random_seed=3,
                      max_documents_in_memory=40)
    assert summary.output_files == [str(tmp_path / "a.tfrecord"), str(tmp_path / "b.tfrecord")]  # an existing folder
    assert _records(tmp_path / "b.tfrecord") == _records(together.output_files[1])
