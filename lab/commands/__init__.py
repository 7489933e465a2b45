"""The `shikumi` subcommands, one module each (imported lazily by lab.cli)."""
