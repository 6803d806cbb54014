"""WordPiece tokenization with the reference's ids, the one input packer, the preprocessor and vocabulary learning."""
