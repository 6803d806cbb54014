"""SQuAD 1.1/2.0: examples, windowed features and the reference's post-processing."""
