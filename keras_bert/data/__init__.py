"""Readers and writers for fine-tuning data: GLUE/XNLI and user tables, SQuAD, CoNLL tagging."""
