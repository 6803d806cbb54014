"""Training data: pretraining corpora and records; GLUE/XNLI and user tables, SQuAD, CoNLL tagging for
fine-tuning; `files` for the input files they all read."""
