"""SavedModel exports for TF Hub and TensorFlow Serving: `preprocessing` and `encoder` (TF Hub's BERT APIs),
the strings-in task models (`classifier`, `squad`, `tagger`) on the shared root of `export_module`, and
`serving` / `serving_layout` for TF Serving's versioned folders, warm-up requests and models.config."""
