"""keras_bert.data.pretraining.masking against the reference rules and tf-models-official's
`create_masked_lm_predictions` (the reference algorithm in Python) on real tokenized text."""
import random

import numpy as np
import pytest
import tensorflow as tf

from keras_bert.data.pretraining import masking

VOCAB_SIZE, MASK_ID, CLS, SEP, PAD = 1000, 103, 101, 102, 0


def test_num_to_predict_is_the_reference_formula():
    for prob in (0.15, 0.2, 0.1, 0.5):
        counts = np.arange(0, 513)
        ours = masking.num_to_predict(tf.constant(counts), prob, 20).numpy()
        expected = [min(20, max(1, int(round(n * prob)))) for n in counts]
        np.testing.assert_array_equal(ours, expected, err_msg=str(prob))


def test_candidate_word_ids_number_words_and_skip_special_tokens():
    # [CLS] a ##b c [SEP] ##d e [SEP] [PAD]
    starts = np.array([[0, 1, 0, 1, 0, 0, 1, 0, 0]], bool)
    candidates = np.array([[0, 1, 1, 1, 0, 1, 1, 0, 0]], bool)
    whole = masking.candidate_word_ids(starts, candidates, whole_word=True).numpy()
    # "##d" starts segment B: it never joins "c" across [SEP].
    np.testing.assert_array_equal(whole, [[-1, 0, 0, 1, -1, 2, 3, -1, -1]])
    single = masking.candidate_word_ids(starts, candidates, whole_word=False).numpy()
    np.testing.assert_array_equal(single, [[-1, 0, 1, 2, -1, 3, 4, -1, -1]])


def _packed_batch(rng, batch, seq):
    """Random packed rows: [CLS] a [SEP] b [SEP] [PAD]..., words of 1-3 pieces."""
    ids = np.full([batch, seq], PAD, np.int32)
    starts = np.zeros([batch, seq], bool)
    candidates = np.zeros([batch, seq], bool)
    for row in range(batch):
        length = rng.integers(5, seq + 1)
        sep_a = rng.integers(2, length - 2)
        ids[row, :length] = rng.integers(1000 // 2, 1000, length)
        ids[row, 0], ids[row, sep_a], ids[row, length - 1] = CLS, SEP, SEP
        candidates[row, 1:length - 1] = True
        candidates[row, sep_a] = False
        starts[row, 1:length - 1] = rng.random(length - 2) < 0.6
    return ids, (ids != PAD).astype(np.int32), starts, candidates


@pytest.mark.parametrize("whole_word", [False, True])
def test_selection_rules_on_random_rows(whole_word):
    rng = np.random.default_rng(0)
    ids, mask, starts, candidates = _packed_batch(rng, 512, 48)
    word_ids = masking.candidate_word_ids(starts, candidates, whole_word)
    out = masking.mask_sequences(ids, mask, word_ids, tf.constant([1, 2]), max_predictions_per_seq=8,
                                 masked_lm_prob=0.15, vocab_size=VOCAB_SIZE, mask_id=MASK_ID)
    positions, labels = out["masked_lm_positions"].numpy(), out["masked_lm_ids"].numpy()
    weights = out["masked_lm_weights"].numpy() > 0
    budget = masking.num_to_predict(mask.sum(1), 0.15, 8).numpy()
    counts = weights.sum(1)
    assert np.all(counts <= budget)
    if not whole_word:  # single pieces always fill the budget
        np.testing.assert_array_equal(counts, np.minimum(budget, candidates.sum(1)))
    else:  # skipping words that no longer fit leaves a little unused budget, as in the reference
        assert counts.sum() >= 0.9 * budget.sum()
    rows = np.nonzero(weights)[0]
    chosen = positions[weights]
    assert candidates[rows, chosen].all()  # never [CLS], [SEP], [PAD]
    np.testing.assert_array_equal(labels[weights], ids[rows, chosen])
    assert not positions[~weights].any() and not labels[~weights].any()
    assert np.all(weights[:, :-1] >= weights[:, 1:])  # real predictions first, then padding
    assert np.all(np.diff(positions, axis=1)[weights[:, 1:]] > 0)  # ascending, distinct
    changed = out["input_word_ids"].numpy() != ids
    changed[rows, chosen] = False
    assert not changed.any()  # only selected tokens change
    if whole_word:
        selected = np.zeros_like(candidates)
        selected[rows, chosen] = True
        words = word_ids.numpy()
        for row in range(len(words)):
            for word in np.unique(words[row][words[row] >= 0]):
                assert len(set(selected[row][words[row] == word])) == 1


def test_replacement_shares_over_50k_selections():
    rng = np.random.default_rng(1)
    ids, mask, starts, candidates = _packed_batch(rng, 6000, 128)
    out = masking.mask_sequences(ids, mask, masking.candidate_word_ids(starts, candidates, False), tf.constant([3, 4]),
                                 max_predictions_per_seq=20, masked_lm_prob=0.15, vocab_size=VOCAB_SIZE,
                                 mask_id=MASK_ID)
    weights = out["masked_lm_weights"].numpy() > 0
    at = np.take_along_axis(out["input_word_ids"].numpy(), out["masked_lm_positions"].numpy(), axis=1)[weights]
    labels = out["masked_lm_ids"].numpy()[weights]
    assert weights.sum() >= 50_000
    assert np.mean(at == MASK_ID) == pytest.approx(0.8, abs=0.01)
    assert np.mean(at == labels) == pytest.approx(0.1 + 0.1 / VOCAB_SIZE, abs=0.01)
    replaced = at[(at != MASK_ID) & (at != labels)]
    assert replaced.min() >= 0 and replaced.max() < VOCAB_SIZE
    assert len(np.unique(replaced)) > 0.9 * VOCAB_SIZE  # uniform over the vocabulary


def test_same_seed_same_masks_other_seed_other_masks():
    rng = np.random.default_rng(2)
    ids, mask, starts, candidates = _packed_batch(rng, 64, 32)
    word_ids = masking.candidate_word_ids(starts, candidates, True)

    def run(seed):
        return masking.mask_sequences(ids, mask, word_ids, tf.constant(seed), max_predictions_per_seq=5,
                                      masked_lm_prob=0.15, vocab_size=VOCAB_SIZE, mask_id=MASK_ID)

    np.testing.assert_array_equal(run([5, 6])["input_word_ids"], run([5, 6])["input_word_ids"])
    assert not np.array_equal(run([5, 6])["masked_lm_positions"], run([5, 7])["masked_lm_positions"])


@pytest.mark.parametrize("whole_word", [False, True])
def test_prediction_counts_match_the_reference_on_real_text(shared_data, uncased_vocab, whole_word):
    """Same token sequences (real SST-2 text) through the reference's `create_masked_lm_predictions`
    and ours: the same mean number of predictions and share of masked continuation pieces."""
    from official.nlp.data.create_pretraining_data import create_masked_lm_predictions
    from official.nlp.tools import tokenization

    tokenizer = tokenization.FullTokenizer(str(uncased_vocab), do_lower_case=True)
    vocab = tokenizer.vocab
    with open(shared_data / "glue" / "SST-2" / "train.tsv", encoding="utf-8") as reader:
        next(reader)
        lines = [line.split("\t")[1] for _, line in zip(range(1200), reader)]
    seq = 48
    sequences = []
    for a, b in zip(lines[0::2], lines[1::2]):
        tokens_a, tokens_b = tokenizer.tokenize(a)[:22], tokenizer.tokenize(b)[:22]
        sequences.append(["[CLS]", *tokens_a, "[SEP]", *tokens_b, "[SEP]"])
    reference_rng = random.Random(0)
    reference_counts, reference_pieces = [], []
    for tokens in sequences:
        _, positions, labels = create_masked_lm_predictions(tokens, 0.15, 6, list(vocab), reference_rng,
                                                            whole_word)
        reference_counts.append(len(positions))
        reference_pieces += [label.startswith("##") for label in labels]
    ids = np.zeros([len(sequences), seq], np.int32)
    starts = np.zeros([len(sequences), seq], bool)
    candidates = np.zeros([len(sequences), seq], bool)
    for row, tokens in enumerate(sequences):
        ids[row, :len(tokens)] = tokenizer.convert_tokens_to_ids(tokens)
        candidates[row, :len(tokens)] = [t not in ("[CLS]", "[SEP]") for t in tokens]
        starts[row, :len(tokens)] = [not t.startswith("##") for t in tokens]
    out = masking.mask_sequences(ids, (ids != 0).astype(np.int32),
                                 masking.candidate_word_ids(starts, candidates, whole_word), tf.constant([0, 1]),
                                 max_predictions_per_seq=6, masked_lm_prob=0.15, vocab_size=len(vocab),
                                 mask_id=vocab["[MASK]"])
    weights = out["masked_lm_weights"].numpy() > 0
    ours_counts = weights.sum(1)
    inverse = {i: t for t, i in vocab.items()}
    ours_pieces = [inverse[i].startswith("##") for i in out["masked_lm_ids"].numpy()[weights]]
    assert np.mean(ours_counts) == pytest.approx(np.mean(reference_counts), rel=0.02)
    assert np.mean(ours_pieces) == pytest.approx(np.mean(reference_pieces), abs=0.03)


def test_mask_sequences_compiles_with_xla():
    rng = np.random.default_rng(3)
    ids, mask, starts, candidates = _packed_batch(rng, 8, 32)

    @tf.function(jit_compile=True)
    def compiled(ids, mask, word_ids):
        return masking.mask_sequences(ids, mask, word_ids, tf.constant([1, 1]), max_predictions_per_seq=5,
                                      masked_lm_prob=0.15, vocab_size=VOCAB_SIZE, mask_id=MASK_ID)

    word_ids = masking.candidate_word_ids(starts, candidates, True)
    eager = masking.mask_sequences(ids, mask, word_ids, tf.constant([1, 1]), max_predictions_per_seq=5,
                                   masked_lm_prob=0.15, vocab_size=VOCAB_SIZE, mask_id=MASK_ID)
    xla = compiled(tf.constant(ids), tf.constant(mask), word_ids)
    np.testing.assert_array_equal(xla["masked_lm_weights"].numpy().sum(1), eager["masked_lm_weights"].numpy().sum(1))


def test_bad_arguments_are_errors():
    ids = np.ones([1, 8], np.int32)
    word_ids = np.zeros([1, 8], np.int32)
    with pytest.raises(ValueError, match="masked_lm_prob"):
        masking.mask_sequences(ids, ids, word_ids, tf.constant([0, 0]), max_predictions_per_seq=2,
                               masked_lm_prob=1.5, vocab_size=10, mask_id=3)
    with pytest.raises(ValueError, match="max_predictions_per_seq"):
        masking.mask_sequences(ids, ids, word_ids, tf.constant([0, 0]), max_predictions_per_seq=0,
                               masked_lm_prob=0.15, vocab_size=10, mask_id=3)
