"""The names corpus for character-level language models: makemore's 32,033 first names, shipped with the package.

>>> from naivegrad.data import names, train_val_test_split, CharTokenizer, build_dataset
>>> words = names()                                   # ['emma', 'olivia', 'ava', ...], no download
>>> train, val, test = train_val_test_split(words, seed=42)
>>> tok = CharTokenizer()                             # '.' = 0, 'a' = 1, ..., 'z' = 26
>>> X, Y = build_dataset(train, block_size=3, tokenizer=tok)
>>> X.shape, Y.shape
((182625, 3), (182625,))

The corpus is the most common given names in the United States for 2018 (the Social Security
Administration's public baby-names data), lowercase a-z, one per line, in makemore's order (by frequency),
as distributed with the MIT-licensed makemore project (its ``names.txt`` at commit 988aa59). It is stored
gzip-compressed next to this module (``names.txt.gz``, about 103 KB; 228,145 bytes decompressed) and checked
against its sha256 when read. The file has 32,032 newline characters and no newline after the last name, so
it holds 32,033 names (``wc -l`` says 32,032), as makemore's ``open('names.txt').read().splitlines()``
gives; 29,494 of them are distinct (a name given to boys and to girls appears twice).

Conventions are those of Karpathy's makemore lectures, so that their numbers can be reproduced:
``train_val_test_split(words, seed=42)`` is the lectures' ``random.seed(42); random.shuffle(words)`` split
at 80% and 90%, and ``build_dataset`` makes their (context -> next character) examples.
"""

import gzip
import hashlib
import random
from functools import lru_cache
from importlib import resources
from numbers import Integral, Real

import numpy as np

from ._checks import positive_int
from .idx import CorruptDataError

__all__ = ["names", "NAMES_SHA256", "train_val_test_split", "CharTokenizer", "build_dataset"]

#: sha256 of the decompressed ``names.txt`` (as its README lists it).
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
_FILE = "names.txt.gz"


@lru_cache(maxsize=1)
def _names():
    try:
        raw = resources.files(__package__).joinpath(_FILE).read_bytes()
    except (FileNotFoundError, OSError) as e:
        raise FileNotFoundError(f"the packaged names corpus naivegrad/data/{_FILE} is missing ({e}); "
                                f"reinstall naivegrad") from None
    try:
        text = gzip.decompress(raw)
    except (OSError, EOFError) as e:
        raise CorruptDataError(f"the packaged names corpus naivegrad/data/{_FILE} is not valid gzip: {e}") from None
    digest = hashlib.sha256(text).hexdigest()
    if digest != NAMES_SHA256:
        raise CorruptDataError(f"the packaged names corpus naivegrad/data/{_FILE} decompresses to data with sha256 "
                               f"{digest}, expected {NAMES_SHA256}: the file is damaged; reinstall naivegrad")
    return tuple(text.decode("ascii").splitlines())


def names():
    """The 32,033 names of the corpus, in the file's order (a new list each call: yours to shuffle).

    >>> words = names()
    >>> len(words), words[:3], max(map(len, words))
    (32033, ['emma', 'olivia', 'ava'], 15)
    """
    return list(_names())


def train_val_test_split(items, seed=42, fractions=(0.8, 0.1, 0.1)):
    """Shuffle a copy of ``items`` with ``random.Random(seed)`` and cut it into (train, val, test) lists.

    The cuts are at ``int(f0 * n)`` and ``int((f0 + f1) * n)`` (a product within 1e-9 of a whole number counts
    as that number, so float rounding in ``f0 + f1`` cannot move a cut), so with the defaults the split is
    exactly the makemore lectures' (``random.seed(42); random.shuffle(words)``; ``n1 = int(0.8 * n)``,
    ``n2 = int(0.9 * n)``): 25,626 / 3,203 / 3,204 names of the corpus. It is deterministic for a seed (on every
    platform: Python's ``random`` shuffle is specified by the seed) and ``items`` is left as it was.
    Each position of ``items`` lands in exactly one part, so the parts are disjoint and together hold every
    item once; a value that occurs twice in ``items`` (the corpus repeats 2,539 names) may land in two parts.

    ``seed`` is an int (or None for a fresh, unrepeatable shuffle); ``fractions`` three numbers >= 0 that sum
    to 1.

    >>> train, val, test = train_val_test_split(names(), seed=42)
    >>> len(train), len(val), len(test)
    (25626, 3203, 3204)
    """
    if isinstance(items, (str, bytes)):
        raise TypeError(f"items must be a sequence of items (e.g. a list of names), got a {type(items).__name__}")
    items = list(items)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}: {seed!r}")
    fr = _fractions(fractions)
    random.Random(seed).shuffle(items)
    n = len(items)
    n1 = _cut(fr[0] * n)
    n2 = _cut((fr[0] + fr[1]) * n)
    return items[:n1], items[n1:n2], items[n2:]


def _cut(x):
    """int(x), but a product meant to be whole counts as whole: 0.6 + 0.3 is 0.8999999999999999 in floats,
    and 100 items split (0.6, 0.3, 0.1) must be 60 / 30 / 10, not 60 / 29 / 11. makemore's int(0.8 * n) and
    int(0.9 * n) are unchanged (checked for every n below 2,000,000)."""
    return int(round(x, 9))


def _fractions(fractions):
    try:
        fr = [f for f in fractions]
    except TypeError:
        raise TypeError(f"fractions must be three numbers (train, val, test), got {fractions!r}") from None
    if len(fr) != 3:
        raise ValueError(f"fractions must be three numbers (train, val, test), got {fractions!r}")
    for name, f in zip(("train", "val", "test"), fr):
        if isinstance(f, bool) or not isinstance(f, Real) or not 0 <= f <= 1:
            raise ValueError(f"fractions must be numbers in [0, 1]; the {name} fraction is {f!r}")
    if abs(sum(fr) - 1.0) > 1e-9:
        raise ValueError(f"fractions must sum to 1, got {fractions!r} (sum {sum(fr)!r})")
    return [float(f) for f in fr]


class CharTokenizer:
    """Characters <-> integer ids, with a boundary token at id 0, as makemore's ``stoi`` / ``itos``.

    ``CharTokenizer()`` has makemore's vocabulary for the names corpus: ``'.'`` (the boundary token, which
    starts and ends every name) at 0, then ``'a'`` ... ``'z'`` at 1 ... 26; ``vocab_size`` is 27.
    ``CharTokenizer(chars)`` uses the characters of ``chars`` (sorted, duplicates removed) after the boundary;
    ``CharTokenizer.from_words(words)`` takes every character that occurs in ``words``, as makemore does.

    >>> tok = CharTokenizer()
    >>> tok.encode("emma"), tok.decode([5, 13, 13, 1])
    ([5, 13, 13, 1], 'emma')
    >>> tok.encode("emma!")
    Traceback (most recent call last):
    ValueError: character '!' at position 4 of 'emma!' is not in the tokenizer's vocabulary ...
    """

    def __init__(self, chars="abcdefghijklmnopqrstuvwxyz", boundary="."):
        if not isinstance(boundary, str) or len(boundary) != 1:
            raise ValueError(f"boundary must be one character, got {boundary!r}")
        if isinstance(chars, str):
            chars = list(chars)
        else:
            try:
                chars = list(chars)
            except TypeError:
                raise TypeError(f"chars must be a string or an iterable of characters, got "
                                f"{type(chars).__name__}: {chars!r}") from None
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"chars must be single characters, got {c!r}")
            if c == boundary:
                raise ValueError(f"the boundary token {boundary!r} cannot also be one of chars")
        self.boundary = boundary
        self.itos = [boundary] + sorted(set(chars))
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def from_words(cls, words, boundary="."):
        """A tokenizer whose vocabulary is every character occurring in ``words`` (sorted), after the boundary."""
        if isinstance(words, str):
            raise TypeError("from_words takes a list of words, not one string")
        return cls(sorted(set("".join(words))), boundary=boundary)

    @property
    def vocab_size(self):
        """The number of ids: the boundary token plus the characters."""
        return len(self.itos)

    def __len__(self):
        return len(self.itos)

    def encode(self, text):
        """The ids of the characters of ``text`` (a list of ints); ValueError naming a character not in the
        vocabulary."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a string, got {type(text).__name__}: {text!r}")
        stoi = self.stoi
        try:
            return [stoi[c] for c in text]
        except KeyError:
            i = next(i for i, c in enumerate(text) if c not in stoi)
            raise ValueError(f"character {text[i]!r} at position {i} of {text!r} is not in the tokenizer's "
                             f"vocabulary ({''.join(self.itos)!r})") from None

    def decode(self, ids):
        """The string of the ids ``ids`` (ints, or an integer numpy array); ValueError naming an id out of range."""
        if isinstance(ids, np.ndarray):
            if ids.dtype.kind not in "iu":
                raise TypeError(f"decode takes integer ids, got an array of dtype {ids.dtype}")
            ids = ids.ravel().tolist()
        elif isinstance(ids, (Integral, np.integer)) and not isinstance(ids, bool):
            ids = [ids]
        itos, n = self.itos, len(self.itos)
        out = []
        for pos, i in enumerate(ids):
            if isinstance(i, bool) or not isinstance(i, (Integral, np.integer)):
                raise TypeError(f"id at position {pos} is a {type(i).__name__} ({i!r}), not an int")
            if not 0 <= i < n:
                raise ValueError(f"id {i} at position {pos} is out of range: the vocabulary has ids 0..{n - 1}")
            out.append(itos[i])
        return "".join(out)

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size}, boundary={self.boundary!r})"


def build_dataset(words, block_size, tokenizer=None):
    """makemore's (context -> next character) examples: ``(X, Y)``, int64 arrays of shape (N, block_size), (N,).

    Each word ``w`` gives ``len(w) + 1`` examples: the context starts as ``block_size`` boundary ids (0) and
    slides over the word; the targets are the word's ids, then the boundary id (the end of the name). So
    ``N = sum(len(w) + 1 for w in words)``; for "emma" and block_size 3 the examples are
    ``...->e``, ``..e->m``, ``.em->m``, ``emm->a``, ``mma->.``. ``tokenizer`` defaults to ``CharTokenizer()``;
    its boundary token must have id 0 (as a ``CharTokenizer``'s does). The same as the lectures' loop:

    ``context = [0] * block_size; for ch in w + '.': X.append(context); Y.append(stoi[ch]);
    context = context[1:] + [stoi[ch]]``

    >>> X, Y = build_dataset(["emma"], 3)
    >>> X.tolist(), Y.tolist()
    ([[0, 0, 0], [0, 0, 5], [0, 5, 13], [5, 13, 13], [13, 13, 1]], [5, 13, 13, 1, 0])
    """
    block_size = positive_int("block_size", block_size)
    if isinstance(words, str):
        raise TypeError("build_dataset takes a list of words, not one string (wrap it in a list)")
    tok = CharTokenizer() if tokenizer is None else tokenizer
    # One flat id sequence: for each word, block_size boundary ids, its ids, one boundary id; the examples
    # are the windows of block_size ids before each of a word's targets.
    seqs, starts, offset = [], [], 0
    for w in words:
        ids = tok.encode(w)
        seqs.append([0] * block_size + ids + [0])
        starts.append(np.arange(offset, offset + len(ids) + 1))
        offset += block_size + len(ids) + 1
    if not seqs:
        return np.zeros((0, block_size), np.int64), np.zeros(0, np.int64)
    flat = np.fromiter((i for s in seqs for i in s), np.int64, offset)
    start = np.concatenate(starts)
    X = flat[start[:, None] + np.arange(block_size)]
    Y = flat[start + block_size]
    return X, Y
