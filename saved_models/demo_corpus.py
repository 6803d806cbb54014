"""The demo's data, built from the installed Python: a pretraining corpus of standard-library docstrings (parsed
with `ast`, in sorted path order, so the same Python gives the same corpus) and a labelled set telling which
family of modules a docstring sentence comes from."""
from __future__ import annotations

import ast
import pathlib
import re
import shutil
import sysconfig
import zlib
from collections.abc import Iterator

# Module families of the labelled set: top-level standard-library names → label.
FAMILIES = {
    "text": ("string", "re", "textwrap", "difflib", "unicodedata", "codecs", "html", "gettext", "locale",
             "stringprep", "encodings", "pprint", "reprlib", "tokenize", "shlex"),
    "network": ("http", "urllib", "email", "smtplib", "socket", "ftplib", "imaplib", "poplib", "ssl", "xmlrpc",
                "socketserver", "mailbox", "mimetypes", "ipaddress", "wsgiref", "nntplib", "telnetlib"),
    "files": ("os", "shutil", "pathlib", "tarfile", "zipfile", "glob", "fnmatch", "tempfile", "filecmp", "io",
              "gzip", "bz2", "lzma", "stat", "fileinput", "posixpath", "ntpath", "genericpath", "_pyio"),
    "concurrency": ("threading", "multiprocessing", "asyncio", "concurrent", "queue", "subprocess", "sched",
                    "selectors", "signal", "_threading_local"),
}
_SKIPPED_PARTS = {"test", "tests", "idlelib", "site-packages", "lib2to3", "tkinter", "turtledemo", "__pycache__",
                  "ensurepip", "venv"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _docstring_sentences(text: str) -> Iterator[str]:
    """Prose sentences of a cleaned docstring: paragraphs joined, indented and doctest lines dropped."""
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.splitlines()
                 if line.strip() and not line.startswith((" ", "\t")) and not line.lstrip().startswith(">>>")]
        for sentence in _SENTENCE_END.split(" ".join(lines)):
            words = sentence.split()
            if 4 <= len(words) <= 60 and re.search(r"[a-z]", sentence):
                yield " ".join(words)


def stdlib_documents() -> Iterator[tuple[str, list[str]]]:
    """(top-level module name, sentences) for each standard-library source file, in sorted path order."""
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if _SKIPPED_PARTS & set(relative.parts):
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        sentences = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                docstring = ast.get_docstring(node)
                if docstring:
                    sentences.extend(_docstring_sentences(docstring))
        if sentences:
            yield relative.parts[0].removesuffix(".py"), sentences


def write_corpus(path: pathlib.Path, max_sentences: int | None) -> tuple[int, dict[str, list[str]]]:
    """Writes the docstring corpus (one sentence per line, blank line between modules; about `max_sentences`);
    returns the number of sentences written and, per family, its distinct sentences from the whole library."""
    family_of = {module: family for family, modules in FAMILIES.items() for module in modules}
    by_family: dict[str, list[str]] = {family: [] for family in FAMILIES}
    seen: set[str] = set()
    count = 0
    with open(path, "w", encoding="utf-8") as writer:
        for module, sentences in stdlib_documents():
            if max_sentences is None or count < max_sentences:
                writer.write("\n".join(sentences) + "\n\n")
                count += len(sentences)
            if module in family_of:  # the labelled set always draws on the whole library
                fresh = [s for s in sentences if s not in seen]
                seen.update(fresh)
                by_family[family_of[module]].extend(fresh)
    return count, by_family


def write_labelled_set(data_dir: pathlib.Path, by_family: dict[str, list[str]], per_class: int) -> dict[str, int]:
    """train.tsv / dev.tsv (`sentence<TAB>label`, header) with at most `per_class` training sentences per family;
    a sentence goes to dev when crc32(sentence) % 5 == 0. Returns the row counts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    rows = {"train": [], "dev": []}
    for family, sentences in by_family.items():
        train = [s for s in sentences if zlib.crc32(s.encode()) % 5]
        dev = [s for s in sentences if not zlib.crc32(s.encode()) % 5]
        rows["train"] += [(s, family) for s in train[:per_class]]
        rows["dev"] += [(s, family) for s in dev[:max(1, per_class // 4)]]
    for split, split_rows in rows.items():
        with open(data_dir / f"{split}.tsv", "w", encoding="utf-8") as writer:
            writer.write("sentence\tlabel\n")
            writer.writelines(f"{s.replace(chr(9), ' ')}\t{label}\n" for s, label in split_rows)
    return {split: len(split_rows) for split, split_rows in rows.items()}


def copy_labelled_files(data_dir: pathlib.Path, train_file: str, dev_file: str) -> None:
    """Your `--train_file` / `--dev_file` as the demo's train.tsv / dev.tsv."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(train_file, data_dir / "train.tsv")
    shutil.copyfile(dev_file, data_dir / "dev.tsv")


def read_labelled_rows(path: pathlib.Path) -> list[tuple[str, str]]:
    """The (sentence, label) rows of a `sentence<TAB>label` file with a header line."""
    lines = pathlib.Path(path).read_text(encoding="utf-8").splitlines()[1:]
    return [tuple(line.rsplit("\t", 1)) for line in lines if line]


def write_subset(data_dir: pathlib.Path, subset_dir: pathlib.Path, per_class: int) -> dict[str, int]:
    """train.tsv with the first `per_class` rows of each label of `data_dir`'s, and the same dev.tsv; returns the
    row counts."""
    subset_dir.mkdir(parents=True, exist_ok=True)
    lines = (data_dir / "train.tsv").read_text(encoding="utf-8").splitlines()
    taken: dict[str, int] = {}
    rows = []
    for line in lines[1:]:
        label = line.rsplit("\t", 1)[-1]
        if line and taken.get(label, 0) < per_class:
            taken[label] = taken.get(label, 0) + 1
            rows.append(line)
    (subset_dir / "train.tsv").write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    shutil.copyfile(data_dir / "dev.tsv", subset_dir / "dev.tsv")
    return {"train": len(rows), "dev": len(read_labelled_rows(subset_dir / "dev.tsv"))}


def normalized(sentence: str) -> str:
    """Lower case, single spaces, no final full stop: how a sentence is looked up in the corpus (docstring summary
    lines often lack the stop)."""
    return " ".join(sentence.lower().split()).removesuffix(".")


def read_corpus_lines(corpus_files: str) -> set[str]:
    """The `normalized` lines of the corpus (comma-separated globs, local or as `tf.io.gfile` reads them)."""
    import tensorflow as tf

    paths = sorted({path for pattern in corpus_files.split(",") for path in tf.io.gfile.glob(pattern.strip())})
    lines: set[str] = set()
    for path in paths:
        with tf.io.gfile.GFile(path, "rb") as reader:
            lines.update(normalized(line) for line in reader.read().decode("utf-8", "ignore").splitlines())
    lines.discard("")
    return lines
