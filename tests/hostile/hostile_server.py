"""A loopback HTTP server that misbehaves on purpose: drips, floods, or echoes the request body.

Real sockets, the real client: what the tenant (or a proxy in front of it) might do to provisioner.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def _read_request(conn: socket.socket) -> tuple[str, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return "", b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.split(b"\r\n")[0].decode("latin-1"), body


def _serve(conn: socket.socket, mode: str, stop: threading.Event) -> None:
    with conn:
        try:
            request_line, body = _read_request(conn)
            if not request_line:
                return
            if mode == "drip":  # headers at once, then one byte of body every 0.3 s
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                while not stop.is_set():
                    conn.sendall(b" ")
                    time.sleep(0.3)
            elif mode == "drip-headers":  # the status line never completes
                while not stop.is_set():
                    conn.sendall(b"H")
                    time.sleep(0.3)
            elif mode == "flood":  # a huge body without Content-Length (chunked)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                piece = b"[" + b"1," * 32768
                chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
                for _ in range(20_000):  # 1.3 GB if nobody stops reading
                    if stop.is_set():
                        return
                    conn.sendall(chunk)
            elif mode == "huge-declared":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400000000\r\n\r\n")
            elif mode == "echo":  # a CREST 400 quoting the request body, JSON-escaped
                text = body.decode("utf-8", "replace")
                reply = json.dumps(
                    {
                        "code": 400,
                        "reason": "Bad Request",
                        "message": f"Invalid value: {text}",
                        "error": "invalid_client",
                        "error_description": f"bad request {text}",
                    }
                ).encode()
                conn.sendall(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(reply)}\r\n\r\n".encode()
                    + reply
                )
        except OSError:
            return


@contextmanager
def hostile_server(mode: str) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a server answering every request per ``mode``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=_serve, args=(conn, mode, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        listener.close()
