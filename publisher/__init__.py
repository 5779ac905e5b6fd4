"""publisher: files in, posts out, on time, exactly once, previewable."""

__version__ = "0.1.0"
