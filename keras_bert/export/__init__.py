"""SavedModel exports for TF Hub and TensorFlow Serving: preprocessing, encoder and the task models from strings."""
