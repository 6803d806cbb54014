"""Keras layers of BERT: embeddings, self-attention, the transformer block, the pooler and the task heads."""
