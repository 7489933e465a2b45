"""Screens of the app: the lesson list, a lesson, and the small modal ones."""
