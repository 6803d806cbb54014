"""Variable-length and bfloat16 serving (`--length_bucket`, `--serving_dtype`): the classifier, tagger, embedder and
fill-mask exports, which run each request batch at its longest row rounded up to 16 (the default), answer in a fresh
process with only tensorflow + tensorflow_text as the same models on batches padded to the fixed max_seq_length
(within 1e-5) on mixed-length batches (Unicode, empty, far too long, all short, empty batch); `bucketed` gives the
bounded set of lengths; a bfloat16 classifier gives float32's probabilities within `BF16_ATOL` and its argmax on
SST-2 dev."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert
from keras_bert.export.classifier import export_classifier
from keras_bert.export.embedder import export_embedder
from keras_bert.export.export_module import bucketed, check_length_bucket
from keras_bert.export.fill_mask import export_fill_mask
from keras_bert.export.precision import serving_model
from keras_bert.export.tagger import _TaggerModule, export_tagger
from keras_bert.models.fill_mask import FillMask
from keras_bert.tokenization.masked_text import MaskedTextPacker
from keras_bert.tokenization.preprocessor import BertPreprocessor
from support.serving_helpers import TAGS, contract_texts, serve_in_fresh_process, serving_config, strings

pytestmark = pytest.mark.slow  # exports and a fresh interpreter

SEQ = 64  # buckets of 16: a batch runs at 16, 32, 48 or 64 pieces
EQUAL_ATOL = 1e-5  # float32: padding columns are masked out of attention, so only summation order differs
BF16_ATOL = 0.02  # bfloat16 keeps 8 mantissa bits: probabilities move by up to about 1e-2
MIXED = contract_texts(8)  # Unicode, empty, 400 words (truncated), invalid UTF-8, whitespace only, ...
SHORT = [b"ok", b"a gripping film", b""]  # longest row 5 pieces: runs at 16
MASKED = [b"the dog [MASK] loudly .", b"[MASK] is a [MASK] word", b"no mask", b"", b"a [MASK] " + b"word " * 80]


def _dev_sentences(shared_data) -> list[bytes]:
    lines = (shared_data / "glue" / "SST-2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[1].encode("utf-8") for line in lines]  # label, sentence


@pytest.fixture(scope="module")
def models(uncased_vocab) -> dict:
    keras.utils.set_random_seed(7)
    config = serving_config()
    return {"preprocessor": BertPreprocessor(uncased_vocab, True, SEQ),
            "classifier": keras_bert.BertClassifier(config, 2),
            "tagger": keras_bert.BertTokenClassifier(config, len(TAGS)),
            "embedder": keras_bert.BertEmbedder(config, pooling="mean", normalize=False),
            "fill_mask": FillMask(keras_bert.BertPretrainer(config),
                                  MaskedTextPacker(uncased_vocab, lower_case=True, seq_length=SEQ, max_predictions=3))}


def _calls(dev: np.ndarray) -> list[tuple[str, str, dict]]:
    batches = [strings(MIXED), strings(SHORT), strings([])]
    calls = [(name, "serving_default", {"text": texts}) for name in ("classifier", "tagger", "embedder")
             for texts in batches]
    calls.append(("classifier", "classify_pair", {"text_a": strings(MIXED), "text_b": strings(MIXED[::-1])}))
    calls += [("fill_mask", "serving_default", {"text": texts}) for texts in (strings(MASKED), strings(MASKED[:3]))]
    return calls + [(key, "serving_default", {"text": dev}) for key in ("classifier", "classifier_bf16")]


@pytest.fixture(scope="module")
def served(models, tmp_path_factory, shared_data) -> dict:
    """The models exported with the default length_bucket (16), the classifier also in bfloat16, called from a
    fresh process: {(key, signature): [outputs of each call]}, and the fresh process's result."""
    work = tmp_path_factory.mktemp("variable_length")
    preprocessor = models["preprocessor"]
    dirs = {name: work / name for name in ("classifier", "classifier_bf16", "tagger", "embedder", "fill_mask")}
    export_classifier(models["classifier"], preprocessor, ["neg", "pos"], dirs["classifier"])
    export_classifier(models["classifier"], preprocessor, ["neg", "pos"], dirs["classifier_bf16"],
                      serving_dtype="bfloat16")
    export_tagger(models["tagger"], preprocessor, TAGS, dirs["tagger"])
    export_embedder(models["embedder"], preprocessor, dirs["embedder"])
    export_fill_mask(models["fill_mask"], dirs["fill_mask"], top_k=3)
    calls = _calls(strings(_dev_sentences(shared_data)))
    result = serve_in_fresh_process(work, dirs, calls, timeout=600)
    outputs = {}
    for (key, signature, _), output in zip(calls, result["calls"]):
        assert "error" not in output, (key, signature, output)
        outputs.setdefault((key, signature), []).append(output)
    return {"outputs": outputs, "result": result, "calls": calls}


def _fixed_length(models, name: str, signature: str, inputs: dict) -> dict:
    """The fixed-length path: the Keras model on batches packed to SEQ (the tagger's graph at length_bucket 0)."""
    preprocessor = models["preprocessor"]
    if name == "classifier":
        segments = [tf.constant(inputs[key]) for key in ("text_a", "text_b")] if "text_a" in inputs else \
            tf.constant(inputs["text"], tf.string)
        logits = models["classifier"](preprocessor(segments), training=False)["logits"]
        return {"probabilities": tf.nn.softmax(logits), "label_id": tf.argmax(logits, axis=-1, output_type=tf.int32)}
    if name == "embedder":
        return models["embedder"](preprocessor(tf.constant(inputs["text"], tf.string)), training=False)
    if name == "tagger":
        return _TaggerModule(models["tagger"], preprocessor, TAGS, None, length_bucket=0).tag(
            tf.constant(inputs["text"], tf.string))
    fixed = FillMask(models["fill_mask"].pretrainer, models["fill_mask"].packer, fixed_length=True)
    return fixed.outputs(tf.constant(inputs["text"]), 3)


@pytest.mark.parametrize("name,signature", [("classifier", "serving_default"), ("classifier", "classify_pair"),
                                            ("tagger", "serving_default"), ("embedder", "serving_default"),
                                            ("fill_mask", "serving_default")])
def test_variable_length_equals_fixed_length(served, models, name, signature):
    checked = 0
    for (key, called, inputs), output in zip(served["calls"], served["result"]["calls"]):
        if (key, called) != (name, signature) or len(inputs.get("text", ())) > len(MIXED) * 2:  # SST-2 dev: below
            continue
        want = _fixed_length(models, name, signature, inputs)
        for output_name, value in want.items():
            value = np.asarray(value)
            got = output[output_name]
            assert got.shape == value.shape, output_name
            if value.dtype.kind == "f":
                np.testing.assert_allclose(got, value, atol=EQUAL_ATOL, rtol=0, err_msg=output_name)
            else:
                np.testing.assert_array_equal(got, value, err_msg=output_name)
        checked += 1
    assert checked == {"classify_pair": 1, "fill_mask": 2}.get(signature if name == "classifier" else name, 3)


def test_bfloat16_signatures_are_float32s(served):
    signatures = served["result"]["signatures"]
    assert signatures["classifier_bf16"] == signatures["classifier"]
    assert signatures["classifier_bf16"]["serving_default"]["outputs"]["probabilities"] == ("float32", (None, 2))


def test_bfloat16_classifier_matches_float32_on_sst2_dev(served):
    float32 = served["outputs"][("classifier", "serving_default")][-1]
    [bf16] = served["outputs"][("classifier_bf16", "serving_default")]
    assert float32["probabilities"].shape == (872, 2)
    difference = np.abs(bf16["probabilities"] - float32["probabilities"])
    print(f"bfloat16 vs float32 on SST-2 dev: max |probability difference| {difference.max():.2e}")
    assert difference.max() <= BF16_ATOL
    assert difference.max() > 0  # it did compute in bfloat16
    np.testing.assert_array_equal(bf16["label_id"], float32["label_id"])


def test_bucketed_lengths_are_multiples_of_the_bucket():
    widths = set()
    for longest in range(2, SEQ + 1):  # a packed row holds at least [CLS] [SEP]
        lengths = [longest, max(longest - 3, 2), 2]
        mask = tf.constant([[1] * n + [0] * (SEQ - n) for n in lengths], tf.int32)
        features = {"input_word_ids": mask * 5, "input_mask": mask, "input_type_ids": mask * 0,
                    "masked_lm_positions": tf.constant([[1], [2], [3]])}
        cut = bucketed(features, 16)
        width = cut["input_mask"].shape[1]
        assert width == max(16, -(-longest // 16) * 16), longest
        widths.add(width)
        np.testing.assert_array_equal(cut["input_word_ids"], features["input_word_ids"][:, :width])
        assert cut["masked_lm_positions"] is features["masked_lm_positions"]
        assert bucketed(features, 0)["input_mask"].shape == (3, SEQ)
    assert widths == {16, 32, 48, 64}
    empty = {key: tf.zeros([0, SEQ], tf.int32) for key in ("input_word_ids", "input_mask", "input_type_ids")}
    assert bucketed(empty, 16)["input_mask"].shape == (0, SEQ)  # kept whole: the pooler reads column 0
    short = {key: tf.ones([2, 10], tf.int32) for key in ("input_word_ids", "input_mask", "input_type_ids")}
    assert bucketed(short, 16)["input_mask"].shape == (2, 10)  # never beyond the packed length


def test_bad_options_name_the_flag():
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="--length_bucket must be an int >= 0"):
            check_length_bucket(bad)
    classifier = keras_bert.BertClassifier(serving_config(), 2)
    with pytest.raises(ValueError, match=r"--serving_dtype must be one of \['float32', 'bfloat16'\], got 'float16'"):
        serving_model(classifier, "float16")
    copy = serving_model(classifier, "bfloat16")
    assert copy.encoder.dtype_policy.name == "bfloat16" and classifier.encoder.dtype_policy.name == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"  # the global policy is left as it was
    assert all(w.dtype == "float32" for w in classifier.weights)
    # Stored rounded to bfloat16 (no per-call cast), except LayerNorm's weights, which stay float32.
    stored = {w.path: w.dtype for w in copy.weights}
    assert {path for path, dtype in stored.items() if dtype == "float32"} == {
        w.path for w in copy.weights if "layer_norm" in w.path}
    assert stored["embeddings/word_embeddings/embeddings"] == "bfloat16", sorted(stored)
    for target, source in zip(copy.weights, classifier.weights):
        expected = keras.ops.cast(keras.ops.cast(source, target.dtype), "float32")  # rounded where stored as bf16
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(keras.ops.cast(target, "float32")),
                                      keras.ops.convert_to_numpy(expected), err_msg=target.path)
