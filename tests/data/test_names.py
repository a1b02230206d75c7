"""The packaged names corpus, its split, the character tokenizer and makemore-style datasets."""

import gzip
import hashlib
import random
import sys
from pathlib import Path

import numpy as np
import pytest

import naivegrad.data
from naivegrad.data import CharTokenizer, build_dataset, names, train_val_test_split
from naivegrad.data.idx import CorruptDataError

# The module itself: the package attribute naivegrad.data.names is the function names().
names_module = sys.modules["naivegrad.data.names"]

PACKAGED = Path(naivegrad.data.__file__).parent / "names.txt.gz"
# The corpus's own copy and README, next to the project folder (absent on a user's machine).
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "names"
README_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"


def test_packaged_file_decompresses_to_the_readme_sha256():
    text = gzip.decompress(PACKAGED.read_bytes())
    assert hashlib.sha256(text).hexdigest() == README_SHA256
    assert len(text) == 228145 and text.count(b"\n") == 32032  # the README's byte and line counts
    assert PACKAGED.stat().st_size < 110_000


def test_setup_cfg_ships_the_corpus():
    """A non-editable ``pip install .`` installs the corpus: setup.cfg lists it as package data."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parents[2] / "setup.cfg")
    assert "names.txt.gz" in cfg["options.package_data"]["naivegrad.data"].split()


def test_the_readme_lists_that_sha256():
    readme = SHARED / "README.md"
    if not readme.is_file():
        pytest.skip("the corpus README is not next to the project")
    assert README_SHA256 in readme.read_text()
    assert names_module.NAMES_SHA256 == README_SHA256


def test_names_as_makemore_reads_them():
    words = names()
    # 32,032 newlines, none after the last name: makemore's read().splitlines() gives 32,033 names.
    assert len(words) == 32033
    assert words[:3] == ["emma", "olivia", "ava"] and words[-1] == "zzyzx"
    assert max(map(len, words)) == 15 and min(map(len, words)) >= 2
    assert set("".join(words)) == set("abcdefghijklmnopqrstuvwxyz")
    assert len(set(words)) == 29494
    shared = SHARED / "names.txt"
    if shared.is_file():
        assert words == shared.read_text().splitlines()


def test_names_returns_a_fresh_list():
    a = names()
    a.clear()
    assert len(names()) == 32033


def test_a_damaged_corpus_is_refused(monkeypatch, tmp_path):
    class Fake:
        def __init__(self, data):
            self.data = data

        def joinpath(self, name):
            return self

        def read_bytes(self):
            return self.data

    names_module._names.cache_clear()
    try:
        monkeypatch.setattr(names_module.resources, "files", lambda pkg: Fake(gzip.compress(b"emma\nava")))
        with pytest.raises(CorruptDataError, match="sha256"):
            names()
        monkeypatch.setattr(names_module.resources, "files", lambda pkg: Fake(b"not gzip"))
        with pytest.raises(CorruptDataError, match="not valid gzip"):
            names()
    finally:
        monkeypatch.undo()
        names_module._names.cache_clear()
    assert len(names()) == 32033


# ------------------------------------------------------------------------------------------------------ split
def test_split_is_the_lectures_split():
    words = names()
    train, val, test = train_val_test_split(words, seed=42)
    ref = names()
    random.seed(42)
    random.shuffle(ref)
    n1, n2 = int(0.8 * len(ref)), int(0.9 * len(ref))
    assert (train, val, test) == (ref[:n1], ref[n1:n2], ref[n2:])
    assert (len(train), len(val), len(test)) == (25626, 3203, 3204)
    assert words == names()  # the input is not shuffled in place


@pytest.mark.parametrize("seed", [0, 1, 42, 12345])
def test_split_is_deterministic_disjoint_and_covering(seed):
    n = 32033
    parts = train_val_test_split(range(n), seed=seed)
    assert parts == train_val_test_split(list(range(n)), seed=seed)
    everything = [i for p in parts for i in p]
    assert sorted(everything) == list(range(n))  # every position once: disjoint and covering
    assert [len(p) for p in parts] == [int(0.8 * n), int(0.9 * n) - int(0.8 * n), n - int(0.9 * n)]
    assert everything != list(range(n))  # shuffled


def test_split_differs_between_seeds_and_takes_fractions():
    assert train_val_test_split(range(100), seed=0) != train_val_test_split(range(100), seed=1)
    train, val, test = train_val_test_split(range(10), seed=0, fractions=(0.5, 0.5, 0))
    assert (len(train), len(val), len(test)) == (5, 5, 0)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(fractions=(0.8, 0.1)), ValueError, "three numbers"),
    (dict(fractions=(0.8, 0.1, 0.2)), ValueError, "sum to 1"),
    (dict(fractions=(1.2, -0.1, -0.1)), ValueError, "train fraction is 1.2"),
    (dict(fractions=0.8), TypeError, "three numbers"),
    (dict(seed=1.5), TypeError, "seed must be an int"),
    (dict(seed=True), TypeError, "seed must be an int"),
])
def test_split_errors_name_the_bad_value(kwargs, error, match):
    with pytest.raises(error, match=match):
        train_val_test_split(range(10), **kwargs)
    with pytest.raises(TypeError, match="sequence of items"):
        train_val_test_split("emma")


# -------------------------------------------------------------------------------------------------- tokenizer
def test_tokenizer_is_makemores():
    words = names()
    tok = CharTokenizer()
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    assert tok.stoi == stoi and tok.itos == [c for c, _ in sorted(stoi.items(), key=lambda kv: kv[1])]
    assert tok.vocab_size == len(tok) == 27
    assert CharTokenizer.from_words(words).itos == tok.itos
    for w in words[:500]:
        assert tok.encode(w) == [stoi[c] for c in w]
        assert tok.decode(tok.encode(w)) == w
    assert tok.decode(np.array([0, 5, 13, 13, 1, 0])) == ".emma."
    assert tok.decode(np.int64(26)) == "z"


def test_tokenizer_errors_name_the_bad_value():
    tok = CharTokenizer()
    with pytest.raises(ValueError, match=r"character 'E' at position 0 of 'Emma'"):
        tok.encode("Emma")
    with pytest.raises(ValueError, match=r"id 27 at position 1 .* 0\.\.26"):
        tok.decode([1, 27])
    with pytest.raises(ValueError, match="id -1"):
        tok.decode([-1])
    with pytest.raises(TypeError, match="float"):
        tok.decode([1.0])
    with pytest.raises(TypeError, match="dtype float64"):
        tok.decode(np.array([1.0]))
    with pytest.raises(TypeError, match="encode takes a string"):
        tok.encode(["e"])
    with pytest.raises(ValueError, match="boundary token '.' cannot"):
        CharTokenizer("ab.")
    with pytest.raises(ValueError, match="one character"):
        CharTokenizer(boundary="<s>")


def test_custom_vocabulary():
    tok = CharTokenizer("cab", boundary="#")
    assert tok.itos == ["#", "a", "b", "c"] and tok.encode("cab") == [3, 1, 2]


# ---------------------------------------------------------------------------------------------------- dataset
def lecture_dataset(words, block_size):
    """The makemore lecture's loop, verbatim."""
    chars = sorted(set("".join(names())))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return np.array(X).reshape(len(X), block_size), np.array(Y)


@pytest.mark.parametrize("block_size", [1, 3, 8, 16])
def test_dataset_matches_the_lecture_loop(block_size):
    words = names()[:2000] + ["a", "zzyzx"]
    X, Y = build_dataset(words, block_size)
    Xr, Yr = lecture_dataset(words, block_size)
    assert X.dtype == Y.dtype == np.int64
    np.testing.assert_array_equal(X, Xr)
    np.testing.assert_array_equal(Y, Yr)


def test_dataset_sizes_on_the_lecture_split():
    parts = train_val_test_split(names(), seed=42)
    shapes = [build_dataset(p, 3)[0].shape for p in parts]
    assert shapes == [(182625, 3), (22655, 3), (22866, 3)]  # the numbers printed in the lectures


def test_dataset_edge_cases_and_errors():
    X, Y = build_dataset([], 4)
    assert X.shape == (0, 4) and Y.shape == (0,)
    X, Y = build_dataset([""], 2)  # an empty word: one example, boundary -> boundary
    assert X.tolist() == [[0, 0]] and Y.tolist() == [0]
    with pytest.raises(ValueError, match="block_size must be a positive int, got 0"):
        build_dataset(["emma"], 0)
    with pytest.raises(TypeError, match="block_size"):
        build_dataset(["emma"], 2.0)
    with pytest.raises(TypeError, match="not one string"):
        build_dataset("emma", 3)
    with pytest.raises(ValueError, match="character '1'"):
        build_dataset(["emma", "a1"], 3)
