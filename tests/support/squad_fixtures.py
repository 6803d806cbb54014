"""SQuAD test data shared by the data and program tests: the reference tokenizer behind our `SquadTokenizer`
interface, and hand-built SQuAD 1.1/2.0 files with long, unicode and impossible questions."""
from official.nlp.tools import tokenization


class FullTokenizerAdapter:
    """The reference tokenizer behind keras_bert's `SquadTokenizer` interface."""

    def __init__(self, vocab_file, do_lower_case):
        self.full = reference_tokenizer(vocab_file, do_lower_case)
        self.basic = tokenization.BasicTokenizer(do_lower_case=do_lower_case)

    def tokenize_words(self, texts):
        return [self.full.tokenize(text) for text in texts]

    def convert_tokens_to_ids(self, tokens):
        return self.full.convert_tokens_to_ids(tokens)

    def basic_tokenize(self, text):
        return self.basic.tokenize(text)


def reference_tokenizer(vocab_file, do_lower_case):
    tok = tokenization.FullTokenizer(str(vocab_file), do_lower_case=do_lower_case)
    tok.wordpiece_tokenizer.max_input_chars_per_word = 200  # google-research/bert's limit
    return tok


FILLER = ("The committee met again in the old hall near the river, and after a long debate about budgets, "
          "roads, schools and the harbour they agreed to meet once more before the winter. ")
LONG_CONTEXT = (FILLER * 3 + "The bridge was finally opened by Mayor Anna-Lena Koch in 1896, twenty years late. "
                + FILLER * 2 + "Its designer, Jürgen Müller-Straße (1841–1902), never saw it finished. " + FILLER)
UNICODE_CONTEXT = ("Der Komponist Antonín Dvořák schrieb „Aus der Neuen Welt“ 1893 in New York; "
                   "später lehrte er in Prag. 北京大学 wurde 1898 gegründet. Steve Smith's bat cost $1,200.50!")


def _answer(context, text, occurrence=0):
    start = -1
    for _ in range(occurrence + 1):
        start = context.index(text, start + 1)
    return {"text": text, "answer_start": start}


def squad_json(version_2):
    """Hand-built paragraphs: long multi-window context, unicode answers, impossible questions."""
    long_qas = [
        {"id": "bridge-mayor", "question": "Who opened the bridge?",
         "answers": [_answer(LONG_CONTEXT, "Mayor Anna-Lena Koch")]},
        {"id": "designer-years", "question": "When did the designer live, and what was his full name?" * 3,
         "answers": [_answer(LONG_CONTEXT, "1841–1902")]},
        {"id": "designer", "question": "Who designed it?",
         "answers": [_answer(LONG_CONTEXT, "Jürgen Müller-Straße")]},
        # Spans a window boundary at doc_stride 16: the answer is whole only in some windows.
        {"id": "debate", "question": "What did they debate?",
         "answers": [_answer(LONG_CONTEXT, "budgets, roads, schools and the harbour they agreed", 3)]},
        # Offset points at "1896" but the text says 1900: the reference's "Could not find answer" skip.
        {"id": "wrong-year", "question": "When was it opened?",
         "answers": [{"text": "1900", "answer_start": LONG_CONTEXT.index("1896")}]},
    ]
    unicode_qas = [
        {"id": "dvorak", "question": "Wer schrieb die Symphonie?",
         "answers": [_answer(UNICODE_CONTEXT, "Antonín Dvořák")]},
        {"id": "title", "question": "Welcher Titel?", "answers": [_answer(UNICODE_CONTEXT, "Aus der Neuen Welt")]},
        {"id": "peking", "question": "Welche Universität?", "answers": [_answer(UNICODE_CONTEXT, "北京大学")]},
        {"id": "price", "question": "How much was the bat?", "answers": [_answer(UNICODE_CONTEXT, "$1,200.50")]},
        {"id": "smith", "question": "Whose bat?", "answers": [_answer(UNICODE_CONTEXT, "Steve Smith")]},
    ]
    if version_2:
        for qa in long_qas + unicode_qas:
            qa["is_impossible"] = False
        long_qas.append({"id": "no-answer-1", "question": "Who painted the bridge?", "answers": [],
                         "is_impossible": True})
        unicode_qas.append({"id": "no-answer-2", "question": "Wann starb Dvořák?", "answers": [],
                            "is_impossible": True})
    return {"version": "2.0" if version_2 else "1.1", "data": [
        {"title": "bridge", "paragraphs": [{"context": LONG_CONTEXT, "qas": long_qas}]},
        {"title": "misc", "paragraphs": [{"context": UNICODE_CONTEXT, "qas": unicode_qas}]}]}


WINDOWS = dict(max_seq_length=64, doc_stride=16, max_query_length=12)
