"""Sentence (pair) classification data: GLUE/XNLI, user tables, the tf.data pipeline and GLUE metrics."""
