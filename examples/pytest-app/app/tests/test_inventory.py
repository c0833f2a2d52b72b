import importlib.metadata

import pytest

from inventory import Item, crates, label


def test_crates_heaviest_first():
    items = [Item("pen", 1), Item("book", 5), Item("lamp", 3)]
    assert [label(c) for c in crates(items, 2)] == ["book, lamp", "pen"]


def test_weight_must_be_an_int():
    with pytest.raises(TypeError):
        Item("feather", "light")


@pytest.mark.parametrize("dist", ["attrs", "more-itertools", "six", "pytest"])
def test_library_metadata(dist):
    # Every library carries its .dist-info in the one site-packages.
    assert importlib.metadata.version(dist)


def test_tmp_path(tmp_path):
    (tmp_path / "note.txt").write_text("kept for this test only")
    assert (tmp_path / "note.txt").read_text().startswith("kept")
