"""Inference programs over pretrained checkpoints: `fill_mask` (masked-word prediction) and `embed` (sentence
embeddings). Each is a Python function taking its flags as keyword arguments, and an absl program."""
