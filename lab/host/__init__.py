"""Reads of the host and thin system calls: /proc, the mount table, namespaces,
ldd, libc wrappers, where the Docker daemon listens, a bounded subprocess.
Nothing here records or removes anything the lab made (that is ``lab.safety``).
"""
