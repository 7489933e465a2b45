"""The kernel operations lessons use: containers by hand, overlay, rootfs,
cgroups, networking, volumes, a small runtime, and the real Docker beside them
(``image/`` holds the OCI image store). Everything they create goes through
``lab.safety``. Never imports Textual."""
