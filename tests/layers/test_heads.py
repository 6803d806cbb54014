"""Task heads against the reference's formulas: `cls/predictions` (gather → activation(dense) → LayerNorm
→ tied word embeddings + bias) and the dense logits heads (x @ W + b), always float32 logits."""
import keras
import numpy as np
import pytest

from keras_bert.layers.heads import (
    ClassificationHead,
    MaskedLMHead,
    NextSentenceHead,
    SpanHead,
    TokenClassificationHead,
)
from support import reference_formulas as ref
from support.random_weights import randomize_weights

VOCAB, HIDDEN = 13, 8


def masked_lm_head(hidden_act="gelu"):
    table = keras.layers.Embedding(VOCAB, HIDDEN)
    table.build((None, None))
    head = MaskedLMHead(VOCAB, HIDDEN, hidden_act, initializer_range=0.02, embedding=table)
    head.build()
    randomize_weights(head, seed=5)  # the tied table too, as it is tracked by the head
    return head, table


@pytest.mark.parametrize("hidden_act, activation", [("gelu", ref.gelu_tanh), ("relu", lambda x: np.maximum(x, 0))])
def test_masked_lm_head_is_reference_cls_predictions(hidden_act, activation):
    head, table = masked_lm_head(hidden_act)
    rng = np.random.default_rng(0)
    sequence = rng.normal(size=(2, 6, HIDDEN)).astype(np.float32)
    positions = np.array([[0, 3, 5], [2, 2, 1]], np.int32)
    got = head(sequence, positions)

    gathered = np.stack([sequence[b, positions[b]] for b in range(2)]).astype(np.float64)  # [2, 3, hidden]
    hidden = activation(gathered @ head.transform.kernel.numpy() + head.transform.bias.numpy())
    hidden = ref.layer_norm(hidden, head.layer_norm.gamma.numpy(), head.layer_norm.beta.numpy())
    want = hidden @ table.embeddings.numpy().T + head.output_bias.numpy()
    assert got.shape == (2, 3, VOCAB) and got.dtype == "float32"
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, rtol=1e-5)


def test_masked_lm_head_reads_the_shared_table_not_a_copy():
    head, table = masked_lm_head()
    sequence = np.ones((1, 2, HIDDEN), np.float32)
    before = np.asarray(head(sequence, np.array([[0]])))
    table.embeddings.assign(np.zeros((VOCAB, HIDDEN), np.float32))
    after = np.asarray(head(sequence, np.array([[0]])))
    np.testing.assert_allclose(after[0, 0], head.output_bias.numpy(), atol=1e-6, rtol=0)
    assert not np.allclose(before, after)


def test_masked_lm_head_needs_the_word_embeddings():
    with pytest.raises(ValueError, match="needs the encoder's word `embedding`"):
        MaskedLMHead(VOCAB, HIDDEN, "gelu", initializer_range=0.02)


DENSE_HEADS = [  # (head, features shape, outputs)
    (lambda: ClassificationHead(3, dropout_rate=0.4), (4, HIDDEN), 3),
    (lambda: ClassificationHead(1), (4, HIDDEN), 1),  # regression
    (lambda: NextSentenceHead(), (4, HIDDEN), 2),
    (lambda: SpanHead(), (2, 5, HIDDEN), 2),
    (lambda: TokenClassificationHead(7, dropout_rate=0.4), (2, 5, HIDDEN), 7),
]


@pytest.mark.parametrize("make, shape, outputs", DENSE_HEADS)
def test_dense_heads_are_x_times_w_plus_b(make, shape, outputs):
    head = make()
    head.build(shape)
    randomize_weights(head, seed=6)
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    got = head(x, training=False)  # dropout inactive at inference
    want = x.astype(np.float64) @ head.dense.kernel.numpy() + head.dense.bias.numpy()
    assert got.shape == (*shape[:-1], outputs)
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("make, shape, outputs", DENSE_HEADS)
def test_logits_are_float32_under_mixed_precision(make, shape, outputs):
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        head = make()
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert head.compute_dtype == "bfloat16"
    assert head(np.ones(shape, np.float32)).dtype == "float32"
