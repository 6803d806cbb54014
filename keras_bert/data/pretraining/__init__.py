"""Pretraining data: text → tokenized corpus (`corpus`) → next-sentence pairs, packed and masked (`instances`,
`masking`) → the reference TFRecords (`create`, `records`), or straight into batches (`dynamic_masking`)."""
