"""CIFAR-10 held in memory as tensors: normalization, batches and data augmentation.

Images stay uint8 (150 MB for the training set) and are converted per batch,
so no worker processes are needed and every random choice comes from one
seeded ``torch.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class TensorData:
    """Train and test images (uint8, NCHW) and labels, plus the per-channel mean/std of the train set.

    ``val_images`` / ``val_labels``: an optional validation split held out of the
    training images (:meth:`hold_out`); training then evaluates on it, and the
    test set is touched once, at the end.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    val_images: torch.Tensor | None = None
    val_labels: torch.Tensor | None = None

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 NCHW -> float32, zero mean and unit variance per channel (train-set statistics)."""
        return (images.float() - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> "TensorData":
        """The first ``n_train`` training and ``n_test`` test examples (same normalization)."""
        return TensorData(self.train_images[:n_train], self.train_labels[:n_train],
                          self.test_images[:n_test], self.test_labels[:n_test], self.mean, self.std,
                          self.val_images, self.val_labels)

    def hold_out(self, n_val: int) -> "TensorData":
        """The last ``n_val`` training images become the validation split; the rest still train.

        The normalization keeps the statistics of the full training set (a fixed
        preprocessing, the same for every run), so holding out changes no input.
        """
        n = len(self.train_labels) - n_val
        if n_val < 1 or n < 1:
            raise ValueError(f"n_val must be between 1 and {len(self.train_labels) - 1}, got {n_val}")
        if self.val_images is not None:
            raise ValueError("this data already has a validation split")
        return TensorData(self.train_images[:n], self.train_labels[:n], self.test_images, self.test_labels,
                          self.mean, self.std, self.train_images[n:], self.train_labels[n:])


def channel_moments(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (population) standard deviation of uint8 NCHW images, in float64."""
    x = images.astype(np.float64)
    return x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))


def tensor_data_from_arrays(train_images: np.ndarray, train_labels: np.ndarray,
                            test_images: np.ndarray, test_labels: np.ndarray) -> TensorData:
    """Wrap NCHW uint8 arrays as :class:`TensorData`, with normalization from the training images."""
    mean, std = channel_moments(train_images)
    return TensorData(torch.from_numpy(np.ascontiguousarray(train_images)),
                      torch.from_numpy(np.asarray(train_labels, dtype=np.int64)),
                      torch.from_numpy(np.ascontiguousarray(test_images)),
                      torch.from_numpy(np.asarray(test_labels, dtype=np.int64)),
                      torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32))


def tensor_data_from_split(train, test) -> TensorData:
    """:class:`TensorData` from two ``bn.data`` splits loaded with ``layout="NCHW"``."""
    if train.layout != "NCHW" or test.layout != "NCHW":
        raise ValueError("load the splits with layout='NCHW'")
    return tensor_data_from_arrays(train.images, train.labels, test.images, test.labels)


def augment_batch(x: torch.Tensor, generator: torch.Generator, flip: bool = True,
                  crop_pad: int = 0) -> torch.Tensor:
    """Random horizontal flips and random translations ("crops" of a zero-padded image) of a batch.

    ``x`` is a float NCHW batch; every image gets its own flip and offset,
    drawn from ``generator`` so a seed fixes them.
    """
    n, _, h, w = x.shape
    if flip:
        flips = torch.rand(n, generator=generator) < 0.5
        x = torch.where(flips.view(n, 1, 1, 1), x.flip(3), x)
    if crop_pad > 0:
        padded = torch.nn.functional.pad(x, (crop_pad,) * 4)
        dy = torch.randint(0, 2 * crop_pad + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * crop_pad + 1, (n,), generator=generator)
        rows = (dy.view(n, 1) + torch.arange(h)).view(n, 1, h, 1)
        cols = (dx.view(n, 1) + torch.arange(w)).view(n, 1, 1, w)
        idx_n = torch.arange(n).view(n, 1, 1, 1)
        idx_c = torch.arange(x.shape[1]).view(1, -1, 1, 1)
        x = padded[idx_n, idx_c, rows, cols]
    return x
