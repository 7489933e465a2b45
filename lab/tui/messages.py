"""Messages the app's thread workers post to screens (events cross threads only this way)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class EngineEvent(Message):
    """One event from the runner (ActionStarted, Output, ViewReady, …), as it happened."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class StepEnded(Message):
    """run_step returned (result) or raised (error: one line for the learner)."""

    def __init__(
        self, index: int, result: Any = None, error: str = "", solution: bool = False
    ) -> None:
        super().__init__()
        self.index = index
        self.solution = solution
        self.result = result
        self.error = error


class ChecksEnded(Message):
    """check_step returned after try it yourself."""

    def __init__(
        self, index: int, checks: list[Any], error: str = "", views: list[Any] | None = None
    ) -> None:
        super().__init__()
        self.index = index
        self.checks = checks
        self.error = error
        self.views = views or []  # the step's views, collected again after the learner's turn


class DoctorDone(Message):
    def __init__(self, checks: list[Any], error: str = "") -> None:
        super().__init__()
        self.checks = checks
        self.error = error  # the probe failed: one line (details in the app's log)


class SessionOpened(Message):
    """The lesson's session (journal + runner) is open, or could not be (error).

    Opening may first undo a dead session's journal (kills, unmounts, docker rm):
    it runs in a worker, never on the event loop."""

    def __init__(self, session: Any, error: str = "") -> None:
        super().__init__()
        self.session = session
        self.error = error


class SessionClosed(Message):
    """A session was closed (cleaned up) in a worker; error: one line if that failed."""

    def __init__(self, error: str = "") -> None:
        super().__init__()
        self.error = error
