"""BERT models: the encoder and the task models built on it (pretrainer, classifier, span labeler, tagger)."""
