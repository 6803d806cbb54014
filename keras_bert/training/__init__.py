"""Training: the reference optimizers, distribution strategies, resumable fit and the task runner."""
