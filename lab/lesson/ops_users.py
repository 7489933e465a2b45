"""Operations for lesson 21: an ordinary user the lesson makes and removes.

Registered in ``lab.lesson.operations``. The user is journaled before ``useradd``
makes it (``lab.ops.users``); cleanup kills its processes, deletes it and its
lines in /etc/subuid and /etc/subgid.
"""

from __future__ import annotations

import shlex
from typing import Any, ClassVar

from lab.lesson.op_result import result as _result
from lab.lesson.op_result import set_out as _set_out
from lab.ops import users
from lab.safety.journal import Journal


class UserAdd:
    """`useradd` of an ordinary user (no home, no login shell, no subordinate ids);
    ``{{out.STEP}}`` is its uid (its group has the same number when it is free)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"name": (str, True)}
    GIVES_OUT = True  # {{out.STEP}}: the uid

    def describe(self, p: dict[str, Any]) -> str:
        return shlex.join(users.useradd_argv(str(p["name"])))

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        pw, _ = users.create(journal, str(p["name"]))
        _set_out(ctx, str(pw.pw_uid))
        lines = [
            f"made the user {pw.pw_name}: uid {pw.pw_uid}, gid {pw.pw_gid}",
            f"  home {pw.pw_dir} (none), shell {pw.pw_shell}, no subordinate ids yet",
            "  removed when the lesson ends (userdel), or by shikumi cleanup",
        ]
        return _result("\n".join(lines), {"name": pw.pw_name, "uid": pw.pw_uid, "gid": pw.pw_gid})


OPS: dict[str, Any] = {"user": UserAdd()}
