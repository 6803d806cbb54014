"""Shared by the pretraining tests and benchmarks: a corpus built from real SST-2 sentences, and the
reference generator (tf-models-official's `official.nlp.data.create_pretraining_data`, called
in-process with its own tokenizer) as the oracle."""
from __future__ import annotations

import json
import os
import pathlib
import random

from keras_bert.data.pretraining.create import create_pretraining_data
from keras_bert.data.pretraining.instances import PretrainingDataOptions
from support.configs import tiny_config


def write_sst2_corpus(shared_data: pathlib.Path, path: str | os.PathLike, num_sentences: int,
                      sentences_per_document: int = 8) -> str:
    """Writes SST-2 training sentences, one per line, a blank line after every
    `sentences_per_document` lines (a document); returns the path."""
    with open(shared_data / "glue" / "SST-2" / "train.tsv", encoding="utf-8") as reader:
        next(reader)  # header
        sentences = [line.rstrip("\n").split("\t")[1] for _, line in zip(range(num_sentences), reader)]
    with open(path, "w", encoding="utf-8") as writer:
        for start in range(0, len(sentences), sentences_per_document):
            writer.write("\n".join(sentences[start:start + sentences_per_document]) + "\n\n")
    return os.fspath(path)


def reference_create_pretraining_data(input_file: str, output_file: str, vocab_file: str, *,
                                      max_seq_length: int, max_predictions_per_seq: int,
                                      dupe_factor: int, do_lower_case: bool = True,
                                      do_whole_word_mask: bool = False, masked_lm_prob: float = 0.15,
                                      short_seq_prob: float = 0.1, random_seed: int = 12345) -> int:
    """tf-models-official's generator (the reference algorithm) on one text file; returns the
    number of instances written. Its WordPiece word limit is set to the reference's 200."""
    from official.nlp.data import create_pretraining_data as reference
    from official.nlp.tools import tokenization

    tokenizer = tokenization.FullTokenizer(vocab_file=vocab_file, do_lower_case=do_lower_case)
    tokenizer.wordpiece_tokenizer.max_input_chars_per_word = 200
    instances = reference.create_training_instances(
        [input_file], tokenizer, reference.get_processor_text_fn(False, do_lower_case), max_seq_length,
        dupe_factor, short_seq_prob, masked_lm_prob, max_predictions_per_seq, random.Random(random_seed),
        do_whole_word_mask)
    reference.write_instance_to_example_files(instances, tokenizer, max_seq_length, max_predictions_per_seq,
                                              [output_file], False, False)
    return len(instances)


TINY_CONFIG = tiny_config().to_dict()  # what `write_tiny_setup` writes as bert_config.json
TINY_SEQ, TINY_PREDICTIONS = 32, 5


def write_tiny_setup(folder: pathlib.Path, shared_data: pathlib.Path, num_shards: int = 2) -> dict[str, str]:
    """A tiny BERT config (uncased vocabulary) and pretraining records of the reference sample text
    (seq 32, 5 predictions, dupe_factor 4, `num_shards` files), made by our generator.

    Returns {"bert_config_file", "input_file" (a glob), "vocab_file", "raw_text_files"}.
    """
    folder = pathlib.Path(folder)
    config_file = folder / "bert_config.json"
    config_file.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    text = shared_data / "pretraining" / "sample_text.txt"
    vocab = shared_data / "vocab" / "uncased_vocab.txt"
    outputs = [str(folder / f"records_{i}.tfrecord") for i in range(num_shards)]
    create_pretraining_data(
        str(text), outputs, str(vocab), True,
        PretrainingDataOptions(max_seq_length=TINY_SEQ, max_predictions_per_seq=TINY_PREDICTIONS, dupe_factor=4),
        num_workers=1)
    return {"bert_config_file": str(config_file), "input_file": str(folder / "records_*.tfrecord"),
            "vocab_file": str(vocab), "raw_text_files": str(text)}
