"""The data both demos train on: scikit-learn's digits, a fixed split, a fixed batch order."""

from typing import Any

import numpy as np
from sklearn import datasets, model_selection


def load_digits_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits: a stratified 75/25 split, standardized with the train statistics.

    Args:
      seed: seeds the split (default 0, the split every documented number uses).

    Returns:
      `(x_train, y_train, x_test, y_test)`: float32 features of shape `(n, 64)`
      (1347 train and 450 test examples), int32 labels in `0..9`.
    """
    digits: Any = datasets.load_digits()
    x_train, x_test, y_train, y_test = (
        np.asarray(part)
        for part in model_selection.train_test_split(
            digits.data, digits.target, test_size=0.25, random_state=seed, stratify=digits.target
        )
    )
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0  # border pixels that are blank in every training image
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return (
        x_train.astype(np.float32),
        y_train.astype(np.int32),
        x_test.astype(np.float32),
        y_test.astype(np.int32),
    )


def batch_indices(num_examples: int, batch_size: int, steps: int, seed: int) -> np.ndarray:
    """Mini-batch indices for `steps` steps: each epoch visits every example once, in a new order.

    Args:
      num_examples: size of the training set (>= 1).
      batch_size: examples per step; 0 or `>= num_examples` means the full set every step.
      steps: number of steps (>= 1).
      seed: seeds the shuffling; a stream of its own, apart from the model init's.

    Returns:
      int32 array of shape `(steps, batch_size)` (or `(steps, num_examples)` for full batch).
    """
    if batch_size == 0 or batch_size >= num_examples:
        return np.broadcast_to(np.arange(num_examples, dtype=np.int32), (steps, num_examples))
    rng = np.random.default_rng([seed, 1])
    batches_per_epoch = num_examples // batch_size  # the remainder of each epoch is dropped
    epochs = -(-steps // batches_per_epoch)
    order = [rng.permutation(num_examples)[: batches_per_epoch * batch_size] for _ in range(epochs)]
    return np.concatenate(order).reshape(-1, batch_size)[:steps].astype(np.int32)
