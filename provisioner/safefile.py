"""Reading files named by untrusted input: regular files only, size-capped, never blocking.

Manifests come from pull requests, so a path in them (``{fromFile: …}``) or next to them is hostile
until checked. Every file the CLI reads goes through :func:`read_bytes`: it opens without following
into a FIFO's wait (``O_NONBLOCK``), refuses anything that is not a regular file (devices such as
``/dev/zero``, FIFOs, sockets, directories) and the kernel's pseudo-files (``/proc``, ``/sys``, whose
"regular" files report size 0 and can be endless), and reads at most ``max_bytes``.
:func:`confined` resolves symlinks and checks that the real path stays inside allowed directories.
"""

from __future__ import annotations

import os
import stat

#: Pseudo file systems: their files look regular but hold process state (``/proc/self/environ``).
PSEUDO_ROOTS = ("/proc", "/sys", "/dev")


class FileRefused(Exception):
    """A file that must not be read; ``str()`` says why (never the content)."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def read_bytes(path: str | os.PathLike[str], max_bytes: int, what: str = "file") -> bytes:
    """The bytes of regular file ``path`` (at most ``max_bytes``), or :class:`FileRefused`.

    Missing files raise :class:`FileNotFoundError` (callers word that themselves)."""
    real = os.path.realpath(path)
    info = os.stat(real)  # before opening: a FIFO or a device is refused without being opened
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(f"{what} {os.fspath(path)} is {_kind(info.st_mode)}, not a regular file")
    if any(_under(real, root) for root in PSEUDO_ROOTS):
        top = "/" + real.split(os.sep)[1]
        raise FileRefused(f"{what} {os.fspath(path)} is under {top} (a pseudo file system), not a regular file")
    # O_NONBLOCK: should the path have become a FIFO since, opening it does not wait for a writer.
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{what} {os.fspath(path)} is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise FileRefused(f"{what} {os.fspath(path)} is too large ({info.st_size} bytes; the limit is {max_bytes})")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(65536, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:  # grew while we read it
            raise FileRefused(f"{what} {os.fspath(path)} is too large (the limit is {max_bytes} bytes)")
        return b"".join(chunks)
    finally:
        os.close(fd)


def confined(path: str, allowed: tuple[str, ...], refused: tuple[str, ...] = ()) -> str:
    """``path``'s real path (every symlink resolved) when it lies inside one of the ``allowed``
    directories and is none of the ``refused`` files; :class:`FileRefused` otherwise."""
    real = os.path.realpath(path)
    roots = [os.path.realpath(a) for a in allowed]
    if not any(_under(real, root) for root in roots):
        shown = " or ".join(roots) if roots else "(none)"
        link = f" (it resolves to {real})" if os.path.realpath(path) != os.path.abspath(path) else ""
        raise FileRefused(f"{path} is outside the allowed directories {shown}{link}")
    if any(real == os.path.realpath(r) for r in refused if r):
        raise FileRefused(f"{path} is the service-account key file")
    return real
