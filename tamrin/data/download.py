"""Placeholder (downloads land in the next commit)."""
from pathlib import Path


def download_mnist(folder: Path, split: str):
    return "downloads not implemented yet"


def download_cifar10(folder: Path):
    return "downloads not implemented yet"
