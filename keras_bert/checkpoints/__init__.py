"""Checkpoint formats read into and written from keras_bert models."""
