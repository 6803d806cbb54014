"""BERT models: the encoder, the task-model base and a module per task model (pretrainer, classifier,
span labeler, tagger), plus the pretraining objective."""
