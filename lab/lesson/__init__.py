"""Lessons: the model, loader, linter, runner and progress. Never imports Textual."""
