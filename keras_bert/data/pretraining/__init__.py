"""Pretraining data: the reference TFRecords, corpus to instances, masking, and dynamic masking."""
