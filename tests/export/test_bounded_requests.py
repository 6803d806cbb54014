"""Work per request string is bounded in the graph (`export_module.cut_texts`): a string far longer than the model
can use answers as its prefix that fits, for the classifier, the tagger, the preprocessing model and SQuAD (whose
windows are capped too), and the cut leaves the tokens before it as they were."""
import numpy as np
import pytest
import tensorflow as tf

import keras_bert
from keras_bert.data.squad import features as squad
from keras_bert.export.classifier import _ClassifierModule
from keras_bert.export.export_module import BYTES_PER_PIECE, MAX_CHUNK_BYTES, cut_texts, default_max_text_bytes
from keras_bert.export.preprocessing import _PreprocessingModule
from keras_bert.export.squad import DEFAULT_CONTEXT_PIECES, _SquadModule, default_max_windows
from keras_bert.export.tagger import _TaggerModule
from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.tokenization.tokenizer import MAX_CHARS_PER_WORD, BertTokenizer
from keras_bert.training.outputs import SquadSettings
from support.corpora import adversarial_corpus, chinese_corpus, ragged_lists
from support.serving_helpers import TAGS, serving_config

SEQ = 16
FILLER = "the rest of a very long request . " * 60_000  # 2 million characters the model never sees


@pytest.fixture(scope="module")
def preprocessor(uncased_vocab):
    return BertPreprocessor(uncased_vocab, True, seq_length=SEQ)


@pytest.fixture(scope="module")
def sample_text(shared_data) -> str:
    return (shared_data / "pretraining" / "sample_text.txt").read_text(encoding="utf-8")


def _cut(texts, max_bytes: int) -> list[bytes]:
    return cut_texts(tf.constant(texts), max_bytes).numpy().tolist()


def test_cut_texts_keeps_whole_chunks_within_the_budget():
    budget = 2 * MAX_CHUNK_BYTES
    words = " ".join(f"w{i}" for i in range(2000))
    long_word = "x" * (3 * MAX_CHUNK_BYTES)
    cjk = "東京" * 1000
    texts = [b"", b"short text", words.encode(), long_word.encode(), ("a " + long_word).encode(), cjk.encode(),
             b"\x80" * (budget + 5), ("\u00e9" * budget).encode()]
    got = _cut(texts, budget)
    assert got[:2] == texts[:2]  # within the budget: unchanged
    assert got[2] == words.encode()[:words.rfind(" ", 0, budget + 1)]  # at the last space within budget + 1 bytes
    assert got[3] == long_word.encode()[:budget]  # no space near the budget: at a character boundary
    assert got[4] == b"a " + b"x" * (budget - 2)  # the early space is too far back to cut at
    assert got[5] == cjk[:budget // 3].encode()  # whole characters, valid UTF-8
    assert got[6] == b""  # only continuation bytes: no character starts before the budget
    assert got[7] == ("\u00e9" * (budget // 2)).encode()
    assert _cut(tf.constant([], tf.string), budget) == []
    with pytest.raises(ValueError, match="byte budget per string must be positive, got 0"):
        cut_texts(tf.constant(["x"]), 0)


def _pieces(tokenizer, texts):
    ids, begins, ends = (ragged_lists(t.merge_dims(1, 2)) for t in tokenizer.tokenize_with_offsets(tf.constant(texts)))
    return [list(zip(*row)) for row in zip(ids, begins, ends)]


def _unchanged_up_to(text: bytes, kept: bytes, pure_cjk: bool) -> int:
    """Where the pieces of `kept` must equal those of `text`: all of it when the cut is at whitespace (or between
    CJK characters, each a word); else up to its last whitespace (the chunk cut through may tokenize otherwise)."""
    if pure_cjk or len(kept) == len(text) or text[len(kept):len(kept) + 1] in (b" ", b"\t", b"\n", b"\r"):
        return len(kept)
    return max(kept.rfind(separator) for separator in (b" ", b"\t", b"\n", b"\r"))


@pytest.mark.parametrize("corpus", ["adversarial", "chinese"])
def test_every_piece_before_the_cut_is_unchanged(corpus, uncased_vocab, chinese_vocab):
    """Whitespace-separated chunks, and CJK characters, before the cut are tokenized as in the whole string (ids
    and byte offsets): cutting never changes what the model sees of the text it keeps."""
    vocab = uncased_vocab if corpus == "adversarial" else chinese_vocab
    lines = adversarial_corpus(400) if corpus == "adversarial" else [t.encode() for t in chinese_corpus(vocab, 400)]
    texts = [b" ".join(lines[i:i + 40]) for i in range(0, len(lines), 40)]
    if corpus == "chinese":  # and a text without any space: cut between characters
        texts.append("".join(c for c in b"".join(texts).decode() if "\u4e00" <= c <= "\u9fff").encode())
    tokenizer = BertTokenizer(vocab, True)
    budget = 3 * MAX_CHUNK_BYTES
    cut = _cut(texts, budget)
    assert all(len(c) <= budget for c in cut) and sum(len(c) < len(t) for c, t in zip(cut, texts)) >= 5
    for index, (text, kept, full, short) in enumerate(zip(texts, cut, _pieces(tokenizer, texts),
                                                          _pieces(tokenizer, cut))):
        assert text.startswith(kept)
        limit = _unchanged_up_to(text, kept, pure_cjk=corpus == "chinese" and index == len(texts) - 1)
        assert [p for p in short if p[2] <= limit] == [p for p in full if p[2] <= limit], index
        assert len([p for p in short if p[2] <= limit]) > 0.5 * len(short), index


def test_default_budget_keeps_max_seq_length_words_of_the_longest_kind(uncased_vocab):
    """The case the default budget is sized for: max_seq_length words of 200 four-byte characters (the tokenizer's
    per-word limit; each at least one piece), singly separated, are all kept."""
    budget = default_max_text_bytes(SEQ)
    assert budget == SEQ * BYTES_PER_PIECE == SEQ * (4 * MAX_CHARS_PER_WORD + 1)
    words = " ".join(["\U0001d49c" * MAX_CHARS_PER_WORD] * SEQ)
    text = words + " " + FILLER
    assert _cut([text], budget) == [words.encode()]
    tokenizer = BertTokenizer(uncased_vocab, True)
    kept = _pieces(tokenizer, [words.encode()])[0]
    assert len(kept) >= SEQ and kept == _pieces(tokenizer, [text.encode()[:2 * budget]])[0][:len(kept)]


def test_long_text_classifies_as_its_prefix(preprocessor, sample_text):
    module = _ClassifierModule(keras_bert.BertClassifier(serving_config(), 2), preprocessor, ["a", "b"],
                               is_regression=False, max_text_bytes=None)
    prefix = sample_text[:400]
    texts = tf.constant([prefix + " " + FILLER, prefix])
    single = module.classify_text(texts)
    np.testing.assert_allclose(single["probabilities"][0], single["probabilities"][1], atol=1e-6)
    pair = module.classify_pair(texts, texts[::-1])
    np.testing.assert_allclose(pair["probabilities"][0], module.classify_pair(texts[1:], texts[1:])["probabilities"][0],
                               atol=1e-6)
    root = _PreprocessingModule(preprocessor, None).__call__(texts)  # (what the SavedModel root calls)
    np.testing.assert_array_equal(root["input_word_ids"][0], root["input_word_ids"][1])


def test_long_text_tags_as_its_prefix_that_fits(preprocessor):
    module = _TaggerModule(keras_bert.BertTokenClassifier(serving_config(), len(TAGS)), preprocessor, TAGS, None)
    text = "Alice met Bob in Paris . " + FILLER
    budget = default_max_text_bytes(SEQ)
    prefix = text[:text.rfind(" ", 0, budget + 1)]  # the cut rule, independently: the last space in budget + 1
    got, expected = module.tag(tf.constant([text])), module.tag(tf.constant([prefix]))
    assert got["num_words"][0] == len(prefix.split()) < budget  # bounded: not the 480,000 words of the text
    for name in ("tags", "start_char", "end_char"):
        np.testing.assert_array_equal(got[name], expected[name])


def test_squad_scores_at_most_max_windows(uncased_vocab, sample_text):
    settings = SquadSettings(doc_stride=5, max_query_length=6, max_answer_length=4, n_best_size=5)
    module = _SquadModule(keras_bert.BertSpanLabeler(serving_config()), BertPreprocessor(uncased_vocab, True, 24),
                          settings, max_windows=3)
    question = tf.ragged.constant([[7, 8], [9]], dtype=tf.int32)
    context = tf.ragged.constant([list(range(10, 90)), list(range(10, 20))], dtype=tf.int32)
    example, start, length, _, _ = module._windows(question, context)
    max_context = module._max_context(example, start, length, context.row_lengths()).to_list()
    for index, (query, pieces) in enumerate([(2, 80), (1, 10)]):
        # The reference on the context cut to what 3 windows cover: 18 or 19 pieces each, 5 apart.
        covered = min(pieces, (24 - 3 - query) + 2 * 5)
        spans = squad._doc_spans(covered, 24 - 3 - query, 5)
        rows = np.flatnonzero(example.numpy() == index)
        assert [(start.numpy()[r], length.numpy()[r]) for r in rows] == spans and len(spans) <= 3
        best = squad._max_context_span(spans, covered)
        for span_index, (row, (span_start, span_length)) in enumerate(zip(rows, spans)):
            assert max_context[row] == [best[p] == span_index for p in range(span_start, span_start + span_length)]
    # A context of 2 million characters answers as its start that the windows cover (600 characters cover more).
    context_start = sample_text.replace("\n", " ")[:600]
    answers = module.answer(tf.constant(["what was recorded?"] * 2),
                            tf.constant([context_start + " " + FILLER, context_start]))
    for name in ("answer", "start_char", "end_char", "score"):
        assert answers[name][0].numpy() == answers[name][1].numpy(), name
    assert module.max_context_bytes == (24 - 3 + 2 * 5) * BYTES_PER_PIECE


@pytest.mark.parametrize("seq_length, settings, expected", [
    (384, SquadSettings(), 15),  # the reference's run_squad flags: 317 + 14 × 128 pieces
    (64, SquadSettings(doc_stride=16, max_query_length=12), 126),  # 49 + 125 × 16
    (24, SquadSettings(doc_stride=50, max_query_length=6), 137)])  # the stride is at most a window's room: 15
def test_default_max_windows_cover_2048_context_pieces(seq_length, settings, expected):
    assert default_max_windows(seq_length, settings) == expected
    room = seq_length - 3 - settings.max_query_length
    covered = room + (expected - 1) * min(room, settings.doc_stride)
    assert covered >= DEFAULT_CONTEXT_PIECES > covered - min(room, settings.doc_stride)
