"""The safety core: everything that creates or removes what the lab makes.

The journal (written before a resource exists), the undo handlers, creating
resources through the journal, the home and its checks, one lesson at a time,
finding and killing the lab's processes, and the only code that deletes files
(``remove``) or unpacks a tar (``safetar``). A change here needs the kill
harness (``python -m tests.harness.kill``) to pass again.
"""
