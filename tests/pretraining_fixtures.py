"""Shared by the pretraining tests and benchmarks: a corpus built from real SST-2 sentences, and the
reference generator (tf-models-official's `official.nlp.data.create_pretraining_data`, called
in-process with its own tokenizer) as the oracle."""
from __future__ import annotations

import os
import pathlib
import random


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
