"""Kernel-facing operations. Never imports Textual."""
