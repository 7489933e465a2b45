"""Images: the OCI layout on disk (``oci``), layer tars (``layers``), the lab's
image store (``store``), its tars in and out (``tars``) and a build by hand
(``build``)."""
