"""tamrin: a hands-on deep-learning lab. Every course exercise is a tested experiment that writes a report."""

__version__ = "0.1.0"
