"""Keras layers of BERT, a module per concept: the shared numerics, embeddings, self-attention, the
transformer block, the pooler and the task heads."""
