"""The text corpus: provenance, vocabulary, the split by document, padded batches, and bad input."""

from __future__ import annotations

import hashlib
import platform

import numpy as np
import pytest

from bn.data.text import (DOC_SEPARATOR, PAD, Corpus, Vocabulary, check_lengths, pad_windows, pydoc_corpus,
                          sample_batch, sample_windows, split_documents, text_data)


def test_corpus_provenance_names_python_and_hashes_the_joined_text():
    corpus = pydoc_corpus()
    prov = corpus.provenance()
    text = DOC_SEPARATOR.join(corpus.docs[k] for k in sorted(corpus.docs))
    assert prov["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert prov["python"] == platform.python_version()
    assert prov["n_docs"] == len(corpus.docs) > 10 and prov["n_chars"] == sum(map(len, corpus.docs.values()))
    # one changed character changes the checksum
    changed = Corpus({**corpus.docs, "if": corpus.docs["if"] + "x"}, corpus.source)
    assert changed.provenance()["sha256"] != prov["sha256"]


def test_vocabulary_round_trips_and_reserves_zero_for_padding():
    vocab = Vocabulary.of(["hello", "world!"])
    assert vocab.chars == "!dehlorw" and vocab.size == 9
    ids = vocab.encode("hello")
    assert ids.min() >= 1 and vocab.decode(ids) == "hello"
    assert vocab.decode([PAD, *ids, PAD]) == "hello"
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        vocab.encode("z")


@pytest.mark.parametrize("texts", [[], [""], ["abc", ""]])
def test_an_empty_text_is_a_one_line_error(texts):
    with pytest.raises(ValueError, match="the text is empty") as info:
        Vocabulary.of(texts)
    assert "\n" not in str(info.value)


def test_split_is_by_document_fixed_by_the_seed_and_disjoint():
    names = [f"d{i:02d}" for i in range(40)]
    a, b = split_documents(names, seed=0), split_documents(list(reversed(names)), seed=0)
    assert a == b  # the order the names come in does not matter
    assert split_documents(names, seed=1) != a
    assert sorted(sum(a.values(), [])) == names
    assert [len(a[s]) for s in ("train", "val", "test")] == [32, 4, 4]
    with pytest.raises(ValueError, match="at least 3 documents"):
        split_documents(["a", "b"])
    with pytest.raises(ValueError, match="fractions"):
        split_documents(names, fractions=(0.5, 0.5, 0.0))


def test_the_pydoc_split_keeps_every_document_in_one_split():
    data = text_data()
    split = data.split
    assert set(split["train"]).isdisjoint(split["val"]) and set(split["val"]).isdisjoint(split["test"])
    assert data.provenance["split_docs"] == {s: len(v) for s, v in split.items()}


@pytest.mark.parametrize("lo, hi", [(0, 5), (6, 5), (-1, 3), (2.0, 5)])
def test_bad_lengths_are_one_line_errors(lo, hi):
    with pytest.raises(ValueError, match="lengths must") as info:
        check_lengths(lo, hi)
    assert "\n" not in str(info.value)


def test_a_window_longer_than_every_document_is_refused():
    enc = [np.arange(1, 11)]
    with pytest.raises(ValueError, match="needs a document of at least 11"):
        sample_windows(np.random.default_rng(0), enc, 2, 3, 10)


def test_padded_batch_targets_are_the_next_character_and_the_mask_marks_real_positions():
    enc = [np.arange(1, 301), np.arange(1001, 1501)]
    batch = sample_batch(np.random.default_rng(0), enc, 16, 5, 40)
    assert batch.inputs.shape == batch.targets.shape == batch.mask.shape == (16, batch.lengths.max())
    for b, n in enumerate(batch.lengths):
        assert 5 <= n <= 40
        assert batch.mask[b].sum() == n and batch.mask[b, :n].all()
        assert (batch.targets[b, :n] == batch.inputs[b, :n] + 1).all()  # consecutive ids: next character
        assert (batch.inputs[b, n:] == PAD).all() and (batch.targets[b, n:] == PAD).all()
    assert batch.padding_fraction == pytest.approx(1 - batch.lengths.sum() / batch.mask.size)
    again = sample_batch(np.random.default_rng(0), enc, 16, 5, 40)
    assert (again.inputs == batch.inputs).all()


def test_pad_windows_to_a_given_width():
    w = [np.array([1, 2, 3, 4]), np.array([5, 6, 7])]
    batch = pad_windows(w, total=8)
    assert batch.inputs.shape == (2, 8) and batch.lengths.tolist() == [3, 2]
    assert batch.padding_fraction == pytest.approx(1 - 5 / 16)
    with pytest.raises(ValueError, match="shorter than the longest"):
        pad_windows(w, total=2)
