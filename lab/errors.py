"""Errors the lab reports to a user as one clear line."""


class LabError(Exception):
    """An error with a message meant for the user (no traceback)."""

    exit_code = 1

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message


class NotRoot(LabError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} needs root", "run it as root: sudo shikumi …")


class PathOutsideHome(LabError):
    pass


class Busy(LabError):
    """Another instance holds a lock the caller needs."""


class BadHome(LabError):
    """The lab's home may not be used (a system directory, a foreign non-empty one…)."""
