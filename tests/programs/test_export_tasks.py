"""`saved_models.export`'s `--task=embedder` and `--task=fill_mask`: any checkpoint in, the served answers equal a
numpy oracle of the published formulas; a sentence-transformers folder is an embedder by default."""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the ops the exported preprocessing needs)
from safetensors.numpy import load_file

from saved_models.export import export_for_serving
from support.fill_mask_oracle import encode, mask_probabilities
from support.huggingface_folders import write_huggingface_folder
from support.sentence_transformers_folders import oracle_embeddings, write_sentence_transformers_folder

CONFIG = {"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
          "intermediate_size": 64, "max_position_embeddings": 64}


def test_a_sentence_transformers_folder_exports_its_embedder(tmp_path):
    folder = write_sentence_transformers_folder(tmp_path / "st")
    written = export_for_serving(export_base=str(tmp_path / "serving"), init_checkpoint=str(folder))
    assert set(written) == {"embedder", "models_config"} and written["embedder"].endswith("bert_embedder/1")
    texts = ["A man plays a guitar.", "Someone strums a guitar!"]
    served = tf.saved_model.load(written["embedder"]).signatures["serving_default"](text=tf.constant(texts))
    expected = oracle_embeddings(folder, texts, max_length=24, mode="mean", normalize=True)
    np.testing.assert_allclose(served["embeddings"].numpy(), expected, atol=1e-4)


def test_fill_mask_export_of_a_masked_lm_folder(tmp_path):
    folder = write_huggingface_folder(tmp_path / "hf", CONFIG, "BertForMaskedLM", scale=0.5)
    written = export_for_serving(export_base=str(tmp_path / "serving"), init_checkpoint=str(folder),
                                 task="fill_mask", top_k=4, max_seq_length=32)
    text = "the dog [MASK] loudly ."
    served = tf.saved_model.load(written["fill_mask"]).signatures["serving_default"](text=tf.constant([text]))
    ids = encode(folder / "vocab.txt", text, lower_case=True, seq_length=32)
    config = {**CONFIG, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
    [probabilities] = mask_probabilities(load_file(folder / "model.safetensors"), config, ids, mask_id=103)
    best = np.argsort(-probabilities)[:4]
    np.testing.assert_array_equal(served["token_ids"].numpy()[0, 0], best)
    np.testing.assert_allclose(served["scores"].numpy()[0, 0], probabilities[best], rtol=1e-4)


def test_task_flags_that_do_not_fit_are_refused(tmp_path):
    folder = write_huggingface_folder(tmp_path / "hf", CONFIG, "BertModel")
    with pytest.raises(ValueError, match="--pooling and --normalize are for --task=embedder"):
        export_for_serving(export_base=str(tmp_path / "serving"), init_checkpoint=str(folder), pooling="cls")
    with pytest.raises(ValueError, match="missing tensors \\(5\\): cls.predictions"):
        export_for_serving(export_base=str(tmp_path / "serving"), init_checkpoint=str(folder), task="fill_mask")
    with pytest.raises(ValueError, match="--task=embedder exports the model of an --init_checkpoint"):
        export_for_serving(export_base=str(tmp_path / "serving"), model_dir=str(tmp_path), task="embedder")
    assert not (tmp_path / "serving").exists()
