"""shikumi-lab: how containers work, by doing every part by hand."""

__version__ = "0.1.0"
