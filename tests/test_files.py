"""keras_bert.files: glob expansion against files made in the test."""
import pytest

from keras_bert.files import expand_file_patterns


def test_file_patterns_expand_sorted_and_name_what_is_missing(tmp_path):
    for name in ("b.txt", "a.txt", "c.md"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    assert expand_file_patterns(f"{tmp_path}/*.txt, {tmp_path}/c.md") == [
        str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), str(tmp_path / "c.md")]
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        expand_file_patterns([f"{tmp_path}/*.txt", f"{tmp_path}/nothing_here*"])
    with pytest.raises(FileNotFoundError, match="no input files"):
        expand_file_patterns(" , ")
