"""keras_bert.files: glob expansion against files made in the test."""
import pytest

from keras_bert.files import MAX_LINE_BYTES, DataFileError, decode_text, expand_file_patterns, name_files


def test_file_patterns_expand_sorted_and_name_what_is_missing(tmp_path):
    for name in ("b.txt", "a.txt", "c.md"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    assert expand_file_patterns(f"{tmp_path}/*.txt, {tmp_path}/c.md") == [
        str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), str(tmp_path / "c.md")]
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        expand_file_patterns([f"{tmp_path}/*.txt", f"{tmp_path}/nothing_here*"])
    with pytest.raises(FileNotFoundError, match="no input files"):
        expand_file_patterns(" , ")


def test_text_with_a_few_stray_bytes_decodes_without_them_like_the_reference(tmp_path):
    text = "plain line\r\nanother line, café\n" * 20
    data = text.encode("utf-8") + b"broken \xff byte\n"
    assert decode_text(tmp_path / "corpus.txt", data) == text + "broken  byte\n"


@pytest.mark.parametrize("content,line,message", [
    (b"first line\nsecond\x00line\n", 2, "NUL byte"),
    ("ligne une\ndeux: été, château, forêt, île, garçon, à, où\n".encode("latin-1"), 2, "are not UTF-8"),
    (bytes(range(1, 256)) * 10, 2, "are not UTF-8"),  # byte 10 is a line break
    (b"x" * (MAX_LINE_BYTES + 1) + b"\nshort\n", 1, "without a line break"),
    (b"short\n" + b"words " * 200_000, 2, "without a line break"),
])
def test_binary_or_non_utf8_data_is_an_error_naming_the_file_and_line(tmp_path, content, line, message):
    path = tmp_path / "not_text.bin"
    with pytest.raises(DataFileError, match=f"not_text.bin, line {line}: .*{message}"):
        decode_text(path, content)


def test_error_messages_name_a_few_files_and_count_the_rest():
    assert name_files(["a", "b"]) == "a, b"
    assert name_files([f"shard_{i}" for i in range(8)], most=3) == "shard_0, shard_1, shard_2 and 5 more"
