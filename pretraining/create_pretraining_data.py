"""google-research/bert `create_pretraining_data.py`: raw text → masked-LM + next-sentence TFRecords.

Same flags, same algorithm (document → segments → NSP pairs → 80/10/10 masking) and the same record
features, tokenized with our TF-Text `BertTokenizer` and built on all cores (see
`keras_bert.data.pretraining.create`). Input: one sentence per line, a blank line between documents.

  python pretraining/create_pretraining_data.py --input_file='corpus/*.txt' \
    --output_file=out/shard_0.tfrecord,out/shard_1.tfrecord --vocab_file=vocab.txt \
    --do_lower_case=True --max_seq_length=128 --max_predictions_per_seq=20 --masked_lm_prob=0.15 \
    --random_seed=12345 --dupe_factor=10

At corpus scale, stream with bounded memory and one output per input file (input shard i → output shard i,
the same records whichever machine runs which shards):

  python pretraining/create_pretraining_data.py --input_file='corpus/*.txt' --output_file=records/ \
    --max_documents_in_memory=10000 --vocab_file=vocab.txt ...
"""
from __future__ import annotations

import logging

from keras_bert import cli
from keras_bert.data.pretraining import create as pretraining_data
from keras_bert.data.pretraining.instances import PretrainingDataOptions

logger = logging.getLogger(__name__)


@cli.checks_arguments
def create_pretraining_data(input_file: str, output_file: str, vocab_file: str, do_lower_case: bool = True,
                            do_whole_word_mask: bool = False, max_seq_length: int = 128,
                            max_predictions_per_seq: int = 20, random_seed: int = 12345, dupe_factor: int = 10,
                            masked_lm_prob: float = 0.15, short_seq_prob: float = 0.1,
                            num_workers: int | None = None,
                            max_documents_in_memory: int | None = None) -> pretraining_data.PretrainingDataSummary:
    """The program as a Python call, arguments named like the flags; returns the summary
    (documents, skipped/odd inputs counted, instances written, output files)."""
    options = PretrainingDataOptions(
        max_seq_length=max_seq_length, max_predictions_per_seq=max_predictions_per_seq,
        masked_lm_prob=masked_lm_prob, short_seq_prob=short_seq_prob, dupe_factor=dupe_factor,
        do_whole_word_mask=do_whole_word_mask, random_seed=random_seed)
    summary = pretraining_data.create_pretraining_data(input_file, output_file, vocab_file, do_lower_case, options,
                                                       num_workers=num_workers,
                                                       max_documents_in_memory=max_documents_in_memory)
    logger.info("read %d files: %d documents (%d of a single segment, always paired with a random next), "
                "%d segments (%d longer than max_seq_length - 3, truncated)", summary.num_input_files,
                summary.num_documents, summary.num_single_segment_documents, summary.num_segments,
                summary.num_segments_longer_than_max)
    logger.info("wrote %d instances to %s", summary.num_instances, ", ".join(summary.output_files))
    return summary


def _define_flags() -> None:
    cli.define_flags(create_pretraining_data, {
        "input_file": "Input raw text file (or comma-separated list of files/globs).",
        "output_file": "Output TF example file (or comma-separated list of files, filled round-robin); or a folder "
                       "(existing, or ending in '/') or a pattern with one '*': one output per input file, "
                       "<folder>/<input name>.tfrecord or '*' replaced by the input's name (without extension).",
        "vocab_file": "The vocabulary file that the BERT model was trained on.",
        "do_lower_case": "Whether to lower case the input text (uncased models).",
        "do_whole_word_mask": "Whether to use whole word masking rather than per-WordPiece.",
        "max_seq_length": "Maximum sequence length.",
        "max_predictions_per_seq": "Maximum number of masked LM predictions per sequence.",
        "random_seed": "Random seed for data generation.",
        "dupe_factor": "Number of times to duplicate the input data (with different masks).",
        "masked_lm_prob": "Masked LM probability.",
        "short_seq_prob": "Probability of creating sequences shorter than the maximum length.",
        "num_workers": "Threads creating instances (with --max_documents_in_memory: chunks at a time); default: all "
                       "cores.",
        "max_documents_in_memory": "Stream each input file in chunks of at most this many documents, each chunk "
                                   "generated on its own (random next sentences from the chunk, seeded by "
                                   "--random_seed, the file's name and the chunk's index): memory bounded by "
                                   "about (num_workers + 1) chunks whatever the corpus size. Default: the whole "
                                   "corpus in memory, as the reference.",
    })


def main() -> None:
    """The `bert-create-pretraining-data` command (`python pretraining/create_pretraining_data.py`)."""
    cli.run_program(create_pretraining_data, _define_flags)


if __name__ == "__main__":
    main()
