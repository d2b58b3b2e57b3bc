"""The two errors a caller of :mod:`rmtheory.datasets` may want to catch."""

from __future__ import annotations


class DatasetUnavailable(RuntimeError):
    """No source could deliver verified files for a dataset.

    The message lists every source tried, in order, with the reason it failed, and says how to
    place the files by hand. The same information is kept in :attr:`attempts` as
    ``(source, reason)`` pairs so that callers (e.g. a test that wants to skip) can inspect it.

    Examples
    --------
    >>> from rmtheory.datasets import DatasetUnavailable, load_cifar10
    >>> try:  # doctest: +SKIP
    ...     data = load_cifar10()
    ... except DatasetUnavailable as err:
    ...     print(err.attempts[0][0])
    cache
    """

    def __init__(self, dataset: str, attempts: list[tuple[str, str]], instructions: str) -> None:
        self.dataset = dataset
        self.attempts = list(attempts)
        self.instructions = instructions
        lines = [f"dataset {dataset!r} is unavailable. Sources tried, in order:"]
        lines += [f"  {i}. {src}: {why}" for i, (src, why) in enumerate(self.attempts, 1)]
        lines += ["", instructions]
        super().__init__("\n".join(lines))

    def __reduce__(self):  # rebuilt from its fields, so it crosses process boundaries (joblib)
        return (type(self), (self.dataset, self.attempts, self.instructions))


class ChecksumError(ValueError):
    """A file's SHA-256 (or size) differs from the published value.

    Raised before the file is cached or parsed; the message names the file and both hashes.
    """

    def __init__(self, filename: str, expected: str, actual: str, *, what: str = "sha256") -> None:
        self.filename = filename
        self.expected = expected
        self.actual = actual
        self.what = what
        super().__init__(f"{what} mismatch for {filename}: expected {expected}, got {actual}")

    def __reduce__(self):
        return (_checksum_error, (self.filename, self.expected, self.actual, self.what))


def _checksum_error(filename: str, expected: str, actual: str, what: str) -> ChecksumError:
    return ChecksumError(filename, expected, actual, what=what)
