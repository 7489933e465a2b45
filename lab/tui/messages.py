"""Messages the app's thread workers post to screens (events cross threads only this way).

One message class per engine event, each carrying the plain dataclass the engine
made (lab/lesson/run_events.py for a running step, lab/lesson/session.py for the
session's own ends); screens handle them with ``@on``. ``for_event`` picks the class.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from lab.lesson import run_events, session


class EngineMessage(Message):
    """Base of the engine's messages: ``event`` is the engine's own dataclass."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class ActionStarted(EngineMessage):
    """A step's command (or operation, view, check) started."""


class StepOutput(EngineMessage):
    """Lines of a running command's output (stdout or stderr)."""


class ActionFinished(EngineMessage):
    """A step's command ended (its ActionResult)."""


class ViewReady(EngineMessage):
    """A view of the step was collected."""


class CheckDone(EngineMessage):
    """One check of the step was judged."""


class StepFinished(EngineMessage):
    """The runner ended a step (its StepResult)."""


class SessionOpened(EngineMessage):
    """The lesson's session (journal + runner) is open, or could not be (event.error).

    Opening may first undo a dead session's journal (kills, unmounts, docker rm):
    it runs in a worker, never on the event loop."""


class SessionClosed(EngineMessage):
    """A session was closed (cleaned up) in a worker; event.error: one line if that failed."""


class StepEnded(EngineMessage):
    """run_step returned (event.result) or raised (event.error: one line for the learner)."""


class ChecksEnded(EngineMessage):
    """check_step returned after try it yourself (event.checks, event.views)."""


_BY_TYPE: dict[type, type[EngineMessage]] = {
    run_events.ActionStarted: ActionStarted,
    run_events.Output: StepOutput,
    run_events.ActionFinished: ActionFinished,
    run_events.ViewReady: ViewReady,
    run_events.CheckDone: CheckDone,
    run_events.StepFinished: StepFinished,
    session.Opened: SessionOpened,
    session.Closed: SessionClosed,
    session.StepEnded: StepEnded,
    session.ChecksEnded: ChecksEnded,
}


def for_event(event: Any) -> EngineMessage | None:
    """The message that carries *event* (None for an event the app does not know)."""
    kind = _BY_TYPE.get(type(event))
    return kind(event) if kind is not None else None


class DoctorDone(Message):
    def __init__(self, checks: list[Any], error: str = "") -> None:
        super().__init__()
        self.checks = checks
        self.error = error  # the probe failed: one line (details in the app's log)


class LessonsLoaded(Message):
    """The lesson files were read (in a worker, after the list's first frame)."""

    def __init__(self, entries: list[Any]) -> None:
        super().__init__()
        self.entries = entries
