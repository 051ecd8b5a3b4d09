"""A character-level text corpus that ships with Python: the help texts of ``pydoc_data.topics``.

Every CPython installation carries ``pydoc_data.topics.topics``, a dict of about 80
documents (the text ``help("if")``, ``help("NUMBERS")`` ... print), some 465,000
characters in all. It needs no download, so a language-model experiment on it reruns
anywhere; its provenance names the Python version and the SHA-256 of the text, since
the help texts change between Python releases.

* :func:`pydoc_corpus`: the documents (sorted by name) and their provenance;
* :class:`Vocabulary`: characters to integer ids, id 0 reserved for padding;
* :func:`split_documents`: a fixed-seed train/validation/test split *by document*;
* :func:`sample_batch`: a batch of variable-length windows, right-padded, with a mask.

NumPy only (layer 5): the batches are arrays; the training loop turns them into tensors.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from typing import Sequence

import numpy as np

PAD = 0
"""The id of the padding token (never a character)."""
SPLITS = ("train", "val", "test")
DOC_SEPARATOR = "\n\x00\n"
"""What joins the sorted documents into the one text whose SHA-256 the provenance records."""


@dataclass(frozen=True)
class Corpus:
    """Documents by name (sorted) and where they came from."""

    docs: dict[str, str]
    source: str

    def provenance(self) -> dict[str, object]:
        """Source, Python version, number of documents and characters, SHA-256 of the joined text."""
        text = DOC_SEPARATOR.join(self.docs[k] for k in sorted(self.docs))
        return {"source": self.source, "python": platform.python_version(), "n_docs": len(self.docs),
                "n_chars": sum(len(v) for v in self.docs.values()),
                "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def pydoc_corpus() -> Corpus:
    """The help texts of the running Python's ``pydoc_data.topics`` as a :class:`Corpus`."""
    from pydoc_data.topics import topics

    return Corpus({k: topics[k] for k in sorted(topics)}, "pydoc_data.topics (CPython standard library)")


def check_text(text: str) -> str:
    """``text`` itself; a one-line ValueError if it is empty (or not a string)."""
    if not isinstance(text, str) or not text:
        raise ValueError("the text is empty: a corpus needs at least one non-empty document")
    return text


@dataclass(frozen=True)
class Vocabulary:
    """The characters of a text, sorted, with ids 1..n (0 is :data:`PAD`)."""

    chars: str

    @classmethod
    def of(cls, texts: Sequence[str]) -> "Vocabulary":
        """The vocabulary of every character in ``texts`` (ValueError if there is none)."""
        chars = sorted(set("".join(check_text(t) for t in texts)) if texts else set())
        if not chars:
            raise ValueError("the text is empty: a corpus needs at least one non-empty document")
        return cls("".join(chars))

    @property
    def size(self) -> int:
        """Number of ids, padding included."""
        return len(self.chars) + 1

    def encode(self, text: str) -> np.ndarray:
        """``text`` as an int64 array of ids (ValueError naming a character not in the vocabulary)."""
        index = {c: i + 1 for i, c in enumerate(self.chars)}
        try:
            return np.fromiter((index[c] for c in check_text(text)), dtype=np.int64, count=len(text))
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: Sequence[int]) -> str:
        """The characters of ``ids``, padding left out."""
        return "".join(self.chars[i - 1] for i in ids if i != PAD)


def split_documents(names: Sequence[str], seed: int = 0, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
                    ) -> dict[str, list[str]]:
    """A train/validation/test split of the documents ``names``: a fixed-seed shuffle, cut by ``fractions``.

    A document lies in exactly one split, so held-out text was never seen in training
    (windows of one document are strongly correlated; a split by window would leak).
    """
    names = sorted(names)
    if len(names) < 3:
        raise ValueError(f"need at least 3 documents for a train/val/test split, got {len(names)}")
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    order = np.random.default_rng(seed).permutation(len(names))
    n_val = max(1, round(fractions[1] * len(names)))
    n_test = max(1, round(fractions[2] * len(names)))
    n_train = len(names) - n_val - n_test
    cut = {"train": order[:n_train], "val": order[n_train:n_train + n_val], "test": order[n_train + n_val:]}
    return {split: sorted(names[i] for i in idx) for split, idx in cut.items()}


def check_lengths(min_len: int, max_len: int, longest: int | None = None) -> None:
    """One-line ValueError unless ``1 <= min_len <= max_len`` (and a document of ``max_len + 1`` exists)."""
    if not (isinstance(min_len, (int, np.integer)) and isinstance(max_len, (int, np.integer))):
        raise ValueError(f"lengths must be integers, got {min_len!r} and {max_len!r}")
    if not 1 <= min_len <= max_len:
        raise ValueError(f"lengths must satisfy 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    if longest is not None and longest < max_len + 1:
        raise ValueError(f"max_len={max_len} needs a document of at least {max_len + 1} characters; "
                         f"the longest has {longest}")


@dataclass(frozen=True)
class Batch:
    """A batch of next-character prediction windows, right-padded to the longest.

    ``inputs[b, t]`` predicts ``targets[b, t]`` (the next character); ``mask[b, t]`` is
    True at the real positions, the first ``lengths[b]`` of each row. Padded positions
    hold :data:`PAD` in both arrays.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray

    @property
    def padding_fraction(self) -> float:
        """The share of positions that are padding."""
        return float(1.0 - self.mask.mean())


def pad_windows(windows: Sequence[np.ndarray], total: int | None = None) -> Batch:
    """Right-pad windows of ids (each ``L + 1`` long: ``L`` inputs and their ``L`` targets) into a
    :class:`Batch` of width ``total`` (default: the longest window's ``L``)."""
    lengths = np.array([len(w) - 1 for w in windows], dtype=np.int64)
    if len(windows) == 0 or lengths.min() < 1:
        raise ValueError("every window needs at least 2 characters (one input, one target)")
    width = int(lengths.max()) if total is None else int(total)
    if width < lengths.max():
        raise ValueError(f"total width {width} is shorter than the longest window ({int(lengths.max())})")
    inputs = np.full((len(windows), width), PAD, dtype=np.int64)
    targets = np.full_like(inputs, PAD)
    for b, w in enumerate(windows):
        inputs[b, :len(w) - 1], targets[b, :len(w) - 1] = w[:-1], w[1:]
    mask = np.arange(width)[None, :] < lengths[:, None]
    return Batch(inputs, targets, mask, lengths)


def sample_windows(rng: np.random.Generator, encoded: Sequence[np.ndarray], batch_size: int, min_len: int,
                   max_len: int) -> list[np.ndarray]:
    """``batch_size`` windows: a document drawn in proportion to its usable length, a length uniform
    in ``[min_len, max_len]``, a start uniform within the document."""
    check_lengths(min_len, max_len, max((len(e) for e in encoded), default=0))
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    usable = np.array([max(len(e) - max_len, 0) for e in encoded], dtype=float)
    p = usable / usable.sum()
    docs = rng.choice(len(encoded), size=batch_size, p=p)
    lengths = rng.integers(min_len, max_len + 1, size=batch_size)
    out = []
    for d, n in zip(docs, lengths):
        start = int(rng.integers(0, len(encoded[d]) - n))
        out.append(encoded[d][start:start + n + 1])
    return out


def sample_batch(rng: np.random.Generator, encoded: Sequence[np.ndarray], batch_size: int, min_len: int,
                 max_len: int) -> Batch:
    """A :class:`Batch` of variable-length windows (see :func:`sample_windows`), padded to the longest."""
    return pad_windows(sample_windows(rng, encoded, batch_size, min_len, max_len))


@dataclass(frozen=True)
class TextData:
    """The corpus split by document and encoded: ``encoded[split]`` is a list of id arrays."""

    vocab: Vocabulary
    split: dict[str, list[str]]
    encoded: dict[str, list[np.ndarray]]
    provenance: dict[str, object]


def text_data(corpus: Corpus | None = None, seed: int = 0) -> TextData:
    """The corpus (default :func:`pydoc_corpus`) split by document with ``seed`` and encoded.

    The vocabulary is the character set of the whole corpus (a character seen only in a
    held-out document still has an id; the model has simply never been trained to emit it).
    """
    corpus = pydoc_corpus() if corpus is None else corpus
    vocab = Vocabulary.of(list(corpus.docs.values()))
    split = split_documents(list(corpus.docs), seed)
    encoded = {s: [vocab.encode(corpus.docs[n]) for n in names] for s, names in split.items()}
    prov = {**corpus.provenance(), "vocab_size": vocab.size, "split_seed": seed,
            "split_docs": {s: len(v) for s, v in split.items()},
            "split_chars": {s: int(sum(len(e) for e in v)) for s, v in encoded.items()}}
    return TextData(vocab, split, encoded, prov)
