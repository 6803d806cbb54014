"""Sentence embeddings of a text file, one per line, for search and clustering; `--query` prints the lines nearest
to a text by cosine similarity.

  python inference/embed.py --input_file=sentences.txt --output_file=embeddings.npy \
    --init_checkpoint=all-MiniLM-L6-v2 --query="How old is the universe?"

`--init_checkpoint`: a sentence-transformers folder (its pooling, normalisation, casing and `max_seq_length`), a
Hugging Face BERT folder or a Google checkpoint (with `--bert_config_file`, `--vocab_file`), pooled as `--pooling`
says (default mean). Output by `--output_file`'s suffix: `.npy` (float32 [lines, dim], row i = line i + 1) or
`.jsonl` (`{"line": 1-based line number, "text": ..., "embedding": [...]}` per line). Every line is embedded, an
empty one as `[CLS] [SEP]` (with a warning), so rows stay aligned with lines; a line that is not UTF-8 is an error
naming it. Each batch is padded only to its longest line (`--fixed_length_batches` pads to the sequence length: the
same embeddings); `--mixed_precision=bf16` runs the encoder in bfloat16 (embeddings written as float32).
"""
from __future__ import annotations

import json
import logging
import os

import numpy as np
from tqdm import tqdm

from keras_bert import cli
from keras_bert.export.embedder import load_embedder
from keras_bert.files import DataFileError, read_lines
from keras_bert.layers.pooling import POOLING_MODES
from keras_bert.models.embedder import cosine_nearest, embed_texts
from keras_bert.training import distribute, task_runner

logger = logging.getLogger(__name__)

OUTPUT_SUFFIXES = (".npy", ".jsonl")


def read_text_lines(input_file: str) -> list[str]:
    """Every line of `input_file` (line endings removed); an empty file is a DataFileError naming it."""
    texts = [text for _, text in read_lines(input_file)]
    if not texts:
        raise DataFileError(input_file, None, "file is empty")
    empty = [number for number, text in enumerate(texts, start=1) if not text.strip()]
    if empty:
        logger.warning("%s: %d empty line(s) (e.g. line %s) embedded as [CLS] [SEP]", input_file, len(empty),
                       ", ".join(map(str, empty[:5])))
    return texts


def write_embeddings(output_file: str, texts: list[str], embeddings: np.ndarray) -> None:
    """`.npy`: the float32 array; `.jsonl`: one object per line (module docstring)."""
    if output_file.endswith(".npy"):
        np.save(output_file, embeddings.astype(np.float32))
        return
    with open(output_file, "w", encoding="utf-8") as writer:
        for number, (text, row) in enumerate(zip(texts, embeddings), start=1):
            record = {"line": number, "text": text, "embedding": np.round(row.astype(np.float64), 8).tolist()}
            writer.write(json.dumps(record, ensure_ascii=False) + "\n")


@cli.checks_arguments
@task_runner.restores_dtype_policy
def embed(input_file: str, init_checkpoint: str, output_file: str | None = None, query: str | None = None,
          top_k: int = 5, pooling: str | None = None, normalize: bool | None = None,
          max_seq_length: int | None = None, batch_size: int = 32, bert_config_file: str | None = None,
          vocab_file: str | None = None, do_lower_case: bool | None = None, fixed_length_batches: bool = False,
          mixed_precision: str = "none") -> list[tuple[int, float]]:
    """Embeds every line of `input_file`, writes them to `output_file` and/or ranks the lines against `query`.

    Args: the flags (see `_define_flags`); `pooling`, `normalize`, `max_seq_length`, `do_lower_case`: None for
    the checkpoint's (`keras_bert.export.embedder.load_embedder`).

    Returns:
      With `query`, the `top_k` nearest lines as (1-based line number, cosine similarity), best first, also
      printed as `similarity<TAB>line number<TAB>text`; else [].
    """
    if output_file is None and query is None:
        raise ValueError("pass --output_file (.npy or .jsonl), --query, or both")
    if output_file is not None and not output_file.endswith(OUTPUT_SUFFIXES):
        raise ValueError(f"--output_file must end in {' or '.join(OUTPUT_SUFFIXES)}, got {output_file!r}")
    if output_file is not None and os.path.isdir(output_file):
        raise ValueError(f"--output_file {output_file} is a folder, not a file")
    if query is not None and not query.strip():
        raise ValueError("--query is empty")
    if top_k < 1:
        raise ValueError(f"--top_k must be >= 1, got {top_k}")
    texts = read_text_lines(input_file)
    distribute.set_mixed_precision(mixed_precision)
    embedder, preprocessor = load_embedder(init_checkpoint, bert_config_file, vocab_file, do_lower_case, pooling,
                                           normalize, max_seq_length)
    with tqdm(total=len(texts), unit="line", desc="embedding", disable=None) as bar:
        embeddings = embed_texts(embedder, preprocessor, texts, batch_size, progress=bar.update,
                                 fixed_length=fixed_length_batches)
    if output_file is not None:
        write_embeddings(output_file, texts, embeddings)
        logger.info("wrote %d embeddings of dimension %d to %s", *embeddings.shape, output_file)
    if query is None:
        return []
    nearest = cosine_nearest(embeddings, embed_texts(embedder, preprocessor, [query])[0], top_k)
    for index, similarity in nearest:
        print(f"{similarity:.4f}\t{index + 1}\t{texts[index]}")
    return [(index + 1, similarity) for index, similarity in nearest]


def _define_flags() -> None:
    cli.define_flags(embed, {
        "input_file": "Text file: one text per line.",
        "output_file": "Where the embeddings go: .npy (float32 [lines, dim]) or .jsonl (line, text, embedding).",
        "query": "Print the --top_k lines nearest to this text by cosine similarity.",
        "top_k": "How many nearest lines --query prints.",
        "pooling": "How token vectors become one vector (default: the sentence-transformers folder's, else mean).",
        "normalize": "L2-normalise the embeddings (default: as the sentence-transformers folder says, else no).",
        "batch_size": "Texts per batch.",
    }, enums={"pooling": POOLING_MODES})
    cli.define_inference_flags(embed)


def main() -> None:
    """The `bert-embed` command (`python inference/embed.py`)."""
    cli.run_program(embed, _define_flags)


if __name__ == "__main__":
    main()
