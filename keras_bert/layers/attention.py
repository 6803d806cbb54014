"""`BertSelfAttention`: Keras multi-head attention with the reference's additive mask and a float32 softmax."""
from __future__ import annotations

import keras
from keras import ops

from keras_bert.layers.numerics import MASKED_ATTENTION_ADDER


@keras.saving.register_keras_serializable(package="keras_bert")
class BertSelfAttention(keras.layers.MultiHeadAttention):
    """Keras `MultiHeadAttention` with the reference's masking and a float32 softmax.

    Keras masks with −1e9 (−3e4 in float16) and switches to a fused kernel when dropout is 0; the
    reference adds −10000 to masked scores, which differs on rows with every key masked. Overriding
    `_compute_attention` (Keras's documented extension point) keeps one code path with reference numerics.
    Constructor arguments and `get_config` are `MultiHeadAttention`'s.

    Call: `(query, value, attention_mask=...)`: float [batch, T, hidden], float [batch, S, hidden],
    `attention_mask` bool/int [batch, 1 or T, S], true where attention is allowed → float [batch, T, hidden].

    Example:
    >>> attention = BertSelfAttention(num_heads=2, key_dim=2)
    >>> x = np.ones((1, 3, 4), "float32")
    >>> tuple(attention(x, x, attention_mask=np.array([[[1, 1, 0]]])).shape)
    (1, 3, 4)
    """

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, use_causal_mask=False):
        # Keras folds `use_causal_mask` into `attention_mask` for subclasses that override this method;
        # a version passing the flag here instead would otherwise get silently unmasked attention.
        if use_causal_mask:
            raise ValueError("BertSelfAttention is bidirectional; use_causal_mask is not supported")
        query = ops.multiply(query, ops.cast(self._inverse_sqrt_key_dim, query.dtype))
        scores = ops.cast(ops.einsum(self._dot_product_equation, key, query), "float32")  # [B, N, T, S]
        if attention_mask is not None:
            allowed = ops.cast(ops.expand_dims(attention_mask, axis=1), "float32")  # [B, 1, T|1, S]
            scores = scores + (1.0 - allowed) * MASKED_ATTENTION_ADDER
        probs = ops.cast(ops.softmax(scores, axis=-1), self.compute_dtype)
        dropped = self._dropout_layer(probs, training=training)
        return ops.einsum(self._combine_equation, dropped, value), probs
