"""Widgets of the app: the step outline, the explanation, the results bench and its panels."""
