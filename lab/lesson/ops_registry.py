"""The operation of lesson 22: a registry of the lab's own on 127.0.0.1.

Registered in ``lab.lesson.operations``. The registry is journaled (kind
``registry``) before it starts; cleanup stops it, removes from Docker the images
pulled from it, and removes its storage (``lab.safety.undo_registry``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from lab.lesson.op_result import result as _result
from lab.lesson.op_result import set_out as _set_out
from lab.ops import registry
from lab.safety.journal import Journal


class RegistryStart:
    """`docker-registry serve config.yml` on 127.0.0.1 and a free port, its storage
    under HOME/registry/NAME; ``{{out.STEP}}`` is its address, 127.0.0.1:PORT."""

    GIVES_OUT = True

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"name": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        d = f"$SHIKUMI_HOME/registry/{p['name']}"
        return "\n".join(
            [
                f"mkdir -p {d}/storage",
                f"cat > {d}/config.yml <<EOF   # a free port the kernel gives, 127.0.0.1 only",
                "version: 0.1",
                f"storage: {{filesystem: {{rootdirectory: {d}/storage}}, delete: {{enabled: true}}}}",
                "http: {addr: 127.0.0.1:PORT}",
                "EOF",
                f"docker-registry serve {d}/config.yml >{d}/registry.log 2>&1 &",
                "curl -s http://127.0.0.1:PORT/v2/     # {} once it answers",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        reg = registry.start(journal, str(p["name"]))
        _set_out(ctx, reg.addr)
        lines = [
            f"docker-registry (pid {reg.pid}) answers on http://{reg.addr}/v2/",
            f"  config   {reg.config}",
            f"  storage  {reg.storage}",
            f"  log      {reg.dir / 'registry.log'}",
        ]
        return _result("\n".join(lines), reg)


OPS: dict[str, Any] = {"registry": RegistryStart()}
