"""transformers itself as the oracle: folders that transformers 5 saved (`data/huggingface/<variant>/`, random
weights of a tiny config) load into the matching keras_bert class with transformers' own recorded outputs, and
`save_huggingface_checkpoint` writes the tensor names, shapes and config fields transformers wrote.

The folders, `data/huggingface_layouts.json` and `data/huggingface_outputs.json` come from
`data/make_huggingface_layouts.py`, run by hand where torch and transformers are installed.
"""
import json
import pathlib

import numpy as np
import pytest
from safetensors.numpy import load_file

from keras_bert.checkpoints import huggingface as hf
from keras_bert.models.classifier import BertClassifier
from keras_bert.models.encoder import BertEncoder
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.models.span_labeler import BertSpanLabeler
from keras_bert.models.token_classifier import BertTokenClassifier
from support import numpy_bert

DATA = pathlib.Path(__file__).resolve().parent / "data"
LAYOUTS = json.loads((DATA / "huggingface_layouts.json").read_text(encoding="utf-8"))["variants"]
RECORDED = json.loads((DATA / "huggingface_outputs.json").read_text(encoding="utf-8"))
INPUTS = {"input_word_ids": np.array(RECORDED["inputs"]["input_ids"], np.int32),
          "input_mask": np.array(RECORDED["inputs"]["attention_mask"], np.int32),
          "input_type_ids": np.array(RECORDED["inputs"]["token_type_ids"], np.int32)}
SEQ = INPUTS["input_word_ids"].shape[1]
EVERY_POSITION = np.tile(np.arange(SEQ, dtype=np.int32), (len(INPUTS["input_word_ids"]), 1))
# transformers class → (keras_bert class, {transformers output: keras_bert output}).
MODELS = {
    "BertModel": (BertEncoder, {"last_hidden_state": "sequence_output", "pooler_output": "pooled_output"}),
    "BertForPreTraining": (BertPretrainer, {"prediction_logits": "mlm_logits",
                                            "seq_relationship_logits": "nsp_logits"}),
    "BertForMaskedLM": (BertPretrainer, {"logits": "mlm_logits"}),
    "BertForSequenceClassification": (BertClassifier, {"logits": "logits"}),
    "BertForQuestionAnswering": (BertSpanLabeler, {"start_logits": "start_logits", "end_logits": "end_logits"}),
    "BertForTokenClassification": (BertTokenClassifier, {"logits": "logits"}),
}
LOADABLE = [variant for variant in LAYOUTS if not variant.endswith("_bin")]


def recorded(variant: str) -> dict:
    outputs = RECORDED["variants"][variant]
    return RECORDED["variants"][outputs["same_as"]] if "same_as" in outputs else outputs


def run(model) -> dict:
    inputs = {**INPUTS, "masked_lm_positions": EVERY_POSITION} if isinstance(model, BertPretrainer) else INPUTS
    return model(inputs, training=False)


def max_difference(model, variant: str) -> float:
    """Largest |ours − transformers'| over the variant's recorded outputs (every hidden state for BertModel)."""
    class_name = LAYOUTS[variant]["class"]
    ours, want = run(model), recorded(variant)
    pairs = [(ours[name], want[theirs]) for theirs, name in MODELS[class_name][1].items()]
    if class_name == "BertModel":
        embedded = model.embeddings(INPUTS["input_word_ids"], INPUTS["input_type_ids"], training=False)
        pairs += list(zip([embedded, *ours["encoder_outputs"]], want["hidden_states"]))
    return max(float(np.abs(np.asarray(got) - np.array(expected, np.float32)).max()) for got, expected in pairs)


@pytest.mark.parametrize("variant", ["BertModel", "BertModel_gelu_new_eps", "BertForPreTraining"])
def test_numpy_oracle_equals_transformers(variant):
    """`support.numpy_bert`, the oracle of the real-weights tests, agrees with transformers (both GELUs, ε)."""
    folder = DATA / "huggingface" / variant
    weights = load_file(folder / "model.safetensors")
    config = LAYOUTS[variant]["config"]
    outputs = numpy_bert.bert_forward(weights, config, INPUTS["input_word_ids"], INPUTS["input_mask"],
                                      INPUTS["input_type_ids"])
    want = recorded(variant)
    if variant == "BertForPreTraining":
        np.testing.assert_allclose(numpy_bert.mlm_logits(weights, config, outputs["sequence_output"]),
                                   want["prediction_logits"], atol=1e-5)
        return
    np.testing.assert_allclose(outputs["sequence_output"], want["last_hidden_state"], atol=1e-5)
    np.testing.assert_allclose(outputs["pooled_output"], want["pooler_output"], atol=1e-5)
    for layer, expected in zip(outputs["encoder_outputs"], want["hidden_states"][1:]):
        np.testing.assert_allclose(layer, expected, atol=1e-5)


@pytest.mark.parametrize("variant", LOADABLE)
def test_loaded_model_outputs_equal_transformers(variant):
    model = MODELS[LAYOUTS[variant]["class"]][0].from_huggingface(DATA / "huggingface" / variant)
    difference = max_difference(model, variant)
    print(f"\n{variant}: max |keras_bert − transformers| = {difference:.2e}")
    assert difference < 1e-5


def test_pytorch_bin_loads_or_names_the_file_and_torch():
    """A pickle only PyTorch reads: equal outputs where torch is installed, else an error saying so."""
    folder = DATA / "huggingface" / "BertForPreTraining_legacy_bin"
    try:
        model = BertPretrainer.from_huggingface(folder)
    except ValueError as error:
        assert "pytorch_model.bin" in str(error) and "torch" in str(error), error
        return
    assert max_difference(model, "BertForPreTraining_legacy_bin") < 1e-5


def test_config_fields_and_labels_reach_the_model():
    folder = DATA / "huggingface"
    assert hf.huggingface_labels(folder / "BertForSequenceClassification") == ["CONTRADICTION", "NEUTRAL",
                                                                             "ENTAILMENT"]
    assert BertClassifier.from_huggingface(folder / "BertForSequenceClassification").num_classes == 3
    assert BertClassifier.from_huggingface(folder / "BertForSequenceClassification_regression").num_classes == 1
    tagger = BertTokenClassifier.from_huggingface(folder / "BertForTokenClassification")
    assert run(tagger)["logits"].shape[-1] == 5
    config = hf.read_huggingface_config(folder / "BertModel_gelu_new_eps")
    assert (config.hidden_act, config.layer_norm_eps) == ("gelu", 1e-3)  # gelu_new is Google's tanh "gelu"


@pytest.mark.parametrize("wrong", [{"layer_norm_eps": 1e-12}, {"hidden_act": "gelu_exact"}])
def test_activation_and_epsilon_matter_at_this_tolerance(wrong):
    """The gelu_new/ε = 1e-3 fixture can fail: read with the default ε or the erf GELU, it is far off."""
    folder = DATA / "huggingface" / "BertModel_gelu_new_eps"
    config = hf.read_huggingface_config(folder).replace(**wrong)
    assert max_difference(BertEncoder.from_huggingface(folder, config=config), "BertModel_gelu_new_eps") > 1e-4


# keras_bert model saved → the transformers variant whose names it must write.
SAVED_AS = [("BertModel", BertEncoder), ("BertForPreTraining", BertPretrainer),
            ("BertForSequenceClassification", BertClassifier),
            ("BertForSequenceClassification_regression", BertClassifier),
            ("BertForQuestionAnswering", BertSpanLabeler), ("BertForTokenClassification", BertTokenClassifier)]
SAFETENSORS_DTYPES = {"float32": "F32"}  # numpy's name → the safetensors header's
# Fields transformers reads to build the model; the others (versions, dropout, use_cache, ...) change nothing.
CONFIG_KEYS = ("architectures", "model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
               "intermediate_size", "hidden_act", "max_position_embeddings", "type_vocab_size", "layer_norm_eps",
               "pad_token_id", "tie_word_embeddings")


@pytest.mark.parametrize("variant, model_class", SAVED_AS)
def test_saved_folder_has_transformers_names_shapes_and_config(variant, model_class, tmp_path):
    layout = LAYOUTS[variant]
    source = DATA / "huggingface" / variant
    model = model_class.from_huggingface(source)
    labels = hf.huggingface_labels(source)
    saved = pathlib.Path(hf.save_huggingface_checkpoint(model, tmp_path / variant, labels=labels))
    assert sorted(p.name for p in saved.iterdir()) == layout["files"]
    written = {name: {"dtype": SAFETENSORS_DTYPES.get(str(value.dtype), str(value.dtype)), "shape": list(value.shape)}
               for name, value in load_file(saved / "model.safetensors").items()}
    assert written == layout["tensors"]
    config = json.loads((saved / "config.json").read_text(encoding="utf-8"))
    assert {key: config.get(key) for key in CONFIG_KEYS} == {key: layout["config"].get(key) for key in CONFIG_KEYS}
    if "id2label" in layout["config"]:
        assert config["id2label"] == layout["config"]["id2label"]
    reloaded = model_class.from_huggingface(saved)
    assert max_difference(reloaded, variant) < 1e-5
