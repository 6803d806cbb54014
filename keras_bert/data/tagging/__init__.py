"""Token classification data: CoNLL files, word-to-piece labels and seqeval metrics."""
