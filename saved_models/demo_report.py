"""What the demo prints: the fill-mask table, the served answers and the closing summary (plain text, no logic of
the steps themselves)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from saved_models.demo_corpus import normalized

CHECK, CROSS = "✓", "✗"


def fill_mask_rows(texts: Sequence[tuple[str, str | None]], predictions: Sequence[Any],
                   corpus_lines: set[str]) -> list[dict[str, Any]]:
    """One row per masked text: its first mask's top-k, the expected word's rank (1-based; None when missed or no
    word is expected) and whether the sentence, mask filled with that word, is a line of the corpus.

    Args:
      texts: (text with a [MASK], the word the sentence has or None).
      predictions: the `FillMaskResult` of each text.
      corpus_lines: `demo_corpus.read_corpus_lines` of the pretraining corpus.
    """
    rows = []
    for (text, expected), prediction in zip(texts, predictions):
        mask = prediction.masks[0]
        rank = mask.tokens.index(expected) + 1 if expected in mask.tokens else None
        in_corpus = None if expected is None else normalized(text.replace("[MASK]", expected, 1)) in corpus_lines
        rows.append({"text": text, "expected": expected, "tokens": mask.tokens, "scores": mask.scores,
                     "rank": rank, "in_corpus": in_corpus})
    return rows


def fill_mask_hits(rows: Sequence[dict[str, Any]]) -> tuple[int, int, int]:
    """(expected word first, expected word in the top-k, texts with an expected word)."""
    scored = [row for row in rows if row["expected"] is not None]
    return (sum(row["rank"] == 1 for row in scored), sum(row["rank"] is not None for row in scored), len(scored))


def _candidates(tokens: Sequence[str], scores: Sequence[float], expected: str | None) -> str:
    return "  ".join(f"{token}{'*' if token == expected else ''} {score:.3f}" for token, score in zip(tokens, scores))


def format_fill_mask(rows: Sequence[dict[str, Any]]) -> str:
    """The fill-mask table: per text, the expected word, whether the sentence is in the corpus, the top-k."""
    lines = ["    top 5 of the masked-LM head (probability; * = the docstring's word):"]
    for row in rows:
        if row["expected"] is None:
            note = ""
        else:
            where = "in the pretraining corpus" if row["in_corpus"] else "not in the corpus"
            found = f"rank {row['rank']}" if row["rank"] else "not in the top 5"
            note = f"   [{row['expected']}: {found}; sentence {where}]"
        lines.append(f"      {row['text']}{note}")
        lines.append(f"          {_candidates(row['tokens'], row['scores'], row['expected'])}")
    return "\n".join(lines)


def format_answers(answers: dict[str, Any], requests: Sequence[tuple[str, str]], queries: Sequence[str],
                   sentences: Sequence[tuple[str, str]], masked: Sequence[tuple[str, str | None]]) -> str:
    """The answers of `demo_serving.answer_requests`: classification (✓ where the expected family), the nearest
    dev sentences of each query (cosine, their label) and the served fill-mask top-k."""
    lines = [f"    answered in a fresh process; keras_bert imported there: {answers['keras_bert_imported']}"]
    classify = answers["classify"]
    lines.append("    bert_classifier, serving_default (label, expected, probabilities, text):")
    for (text, expected), label, probabilities in zip(requests, classify["label"], classify["probabilities"]):
        lines.append(f"      {label:<12} {CHECK if label == expected else CROSS + ' ' + expected:<13} "
                     f"{probabilities}  {text}")
    if "search" in answers:
        lines.append(f"    bert_embedder, semantic search over the {len(sentences)} dev sentences (cosine, label):")
        for query, hits in zip(queries, answers["search"]):
            lines.append(f"      query: {query}")
            lines += [f"        {score:.3f}  {sentences[index][1]:<12} {sentences[index][0]}" for index, score in hits]
    if "fill_mask" in answers:
        lines.append("    bert_fill_mask, serving_default (the first mask's top 5):")
        for (text, expected), tokens, scores in zip(masked, answers["fill_mask"]["tokens"],
                                                    answers["fill_mask"]["scores"]):
            lines.append(f"      {text}\n          {_candidates(tokens, scores, expected)}")
    return "\n".join(lines)


def format_summary(result: dict[str, Any], pretrained_name: str | None) -> str:
    """The closing table: fill-mask hits, the dev accuracies, the showcase requests, each step's time."""
    rows = []
    if "fill_mask_hits" in result:
        first, top5, count = result["fill_mask_hits"]
        rows.append(("fill-mask, small BERT: docstring word first / in top 5", f"{first}/{count} / {top5}/{count}"))
    rows.append(("dev accuracy, small BERT pretrained here", f"{result['dev_accuracy']:.3f}"))
    if pretrained_name:
        rows.append((f"dev accuracy, {pretrained_name}", f"{result['pretrained_dev_accuracy']:.3f}"))
    rows.append(("dev accuracy, majority class", f"{result['majority_baseline']:.3f}"))
    rows.append(("showcase requests right (served classifier)",
                 f"{result['showcase_right']}/{len(result['answers']['classify']['label'])}"))
    steps = ", ".join(f"{step}: {seconds:.0f} s" for step, seconds in result["step_seconds"].items())
    rows.append(("time per step", steps))
    rows.append(("total time", f"{result['seconds']:.0f} s"))
    width = max(len(name) for name, _ in rows)
    return "\nsummary\n" + "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)
