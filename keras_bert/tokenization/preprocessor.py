"""`BertPreprocessor`: strings → the encoder's input dict (tokenize, then pack), from a vocabulary, a Google release
folder or a Hugging Face folder; and the casing rules of Google's release folders (`lower_case_from_release_name`,
`check_case_matches_checkpoint`, as the reference's `validate_case_matches_checkpoint`).

An empty, all-whitespace or all-control-character string has no words and packs to `[CLS] [SEP]`.
"""
from __future__ import annotations

import os
import pathlib
import re

import keras
import tensorflow as tf

from keras_bert.tokenization import huggingface
from keras_bert.tokenization.packing import BertPackInputs
from keras_bert.tokenization.tokenizer import MAX_CHARS_PER_WORD, BertTokenizer


def lower_case_from_release_name(folder: str | os.PathLike) -> bool:
    """`do_lower_case` implied by a Google release folder name, as the reference's
    `validate_case_matches_checkpoint`: "uncased" → True, "cased" → False, chinese/multilingual → True."""
    name = pathlib.Path(folder).resolve().name.lower()
    if "uncased" in name:
        return True
    if "cased" in name:
        return False
    if name.startswith(("chinese", "multilingual")):
        return True
    raise ValueError(f"cannot infer lower_case from the folder name {str(folder)!r}; pass lower_case explicitly")


# Google's release folder names: BERT-Base/Large, multilingual, Chinese, whole-word masking, small BERTs.
_RELEASE_NAME = re.compile(r"^(wwm_)?(uncased|cased|multi_cased|multilingual|chinese)_L-\d+_H-\d+_A-\d+$")


def check_case_matches_checkpoint(do_lower_case: bool, init_checkpoint: str | os.PathLike | None) -> None:
    """The reference's `validate_case_matches_checkpoint`: when `init_checkpoint` lies in (or is) a Google
    release folder, `--do_lower_case` must match its casing; a ValueError names both flags otherwise.
    Checkpoints outside such folders are not checked."""
    if not init_checkpoint:
        return
    path = pathlib.Path(init_checkpoint)
    for folder in (path, *path.parents):
        if _RELEASE_NAME.match(folder.name):
            expected = lower_case_from_release_name(folder)
            if bool(do_lower_case) != expected:
                raise ValueError(
                    f"--do_lower_case={bool(do_lower_case)} but --init_checkpoint {init_checkpoint} is the "
                    f"{'uncased' if expected else 'cased'} release {folder.name}: its vocabulary and weights "
                    f"expect --do_lower_case={expected}")
            return


class BertPreprocessor(keras.layers.Layer):
    """Strings (or a list of 2 string tensors for pairs) → the encoder's input dict.

    Args:
        vocab_file: path of the vocabulary (one token per line).
        lower_case: the reference's `do_lower_case`.
        seq_length: int ≥ 3, the packed length.
        strip_accents, tokenize_chinese_chars, max_chars_per_word: Hugging Face's options of `BertTokenizer`;
            the defaults are the reference's.

    Call: string [batch], or [string [batch], string [batch]] → dict of int32 [batch, seq_length]
    (`input_word_ids`, `input_mask`, `input_type_ids`); see `BertPackInputs`.

    Example:
    >>> preprocessor = BertPreprocessor("../shared/data/vocab/uncased_vocab.txt", lower_case=True, seq_length=8)
    >>> preprocessor([tf.constant(["Hello!"]), tf.constant(["Hi"])])["input_word_ids"].numpy().tolist()
    [[101, 7592, 999, 102, 7632, 102, 0, 0]]
    """

    def __init__(self, vocab_file: str | os.PathLike, lower_case: bool, seq_length: int = 128,
                 strip_accents: bool | None = None, tokenize_chinese_chars: bool = True,
                 max_chars_per_word: int = MAX_CHARS_PER_WORD, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.tokenizer = BertTokenizer(vocab_file, lower_case, strip_accents=strip_accents,
                                       tokenize_chinese_chars=tokenize_chinese_chars,
                                       max_chars_per_word=max_chars_per_word, name="tokenizer")
        self.packer = BertPackInputs(seq_length, self.tokenizer.get_special_tokens_dict(), name="packer")

    @classmethod
    def from_google_release(cls, folder: str | os.PathLike, lower_case: bool | None = None, seq_length: int = 128):
        """From a Google BERT release folder (its `vocab.txt`); lower_case from the folder name unless given."""
        if lower_case is None:
            lower_case = lower_case_from_release_name(folder)
        return cls(pathlib.Path(folder) / "vocab.txt", lower_case, seq_length)

    @classmethod
    def from_huggingface(cls, folder: str | os.PathLike, seq_length: int = 128):
        """From a Hugging Face BERT folder: `vocab.txt` with the settings of its `tokenizer_config.json` or
        `tokenizer.json` (`huggingface.read_tokenizer_settings`, which also checks its special tokens against the
        vocabulary)."""
        settings = huggingface.read_tokenizer_settings(folder)
        return cls(settings.vocab_file, settings.do_lower_case, seq_length, **settings.tokenizer_options())

    def call(self, inputs) -> dict[str, tf.Tensor]:
        texts = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return self.packer([self.tokenizer.tokenize_pieces(t) for t in texts])  # packing needs no word level

    def get_config(self) -> dict:
        config = super().get_config()
        tokenizer = self.tokenizer
        config.update(vocab_file=tokenizer.vocab_file, lower_case=tokenizer.lower_case,
                      seq_length=self.packer.seq_length, strip_accents=tokenizer.strip_accents,
                      tokenize_chinese_chars=tokenizer.tokenize_chinese_chars,
                      max_chars_per_word=tokenizer.max_chars_per_word)
        return config
