"""Serve the AWS emulator (moto) for the tests and the local run.

It is moto's own server application, run the way moto_server runs it, with one difference:
requests are handled one at a time. DynamoDB runs each TransactWriteItems and each conditional
write in isolation from the others; moto's in-memory backend does not lock, so two concurrent
transactions could both pass a condition that only one of them should. Serializing requests
gives the emulator the isolation the service relies on (the per-user limit under concurrent
creates, one winner of two concurrent deletes), while connections are still accepted
concurrently.

Usage: python tools/emulator.py --host 127.0.0.1 --port 4566

With --port 0 it binds a port the system chooses and prints "port <n>" on its first line of
standard output once it listens, so that no other process can take the port in between.
"""

import argparse
import os
import signal
import sys
import threading

from werkzeug.serving import make_server

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def serialized(app):
    lock = threading.Lock()

    def handle(environ, start_response):
        with lock:
            # Read the whole response inside the lock: moto builds it lazily.
            return list(app(environ, start_response))

    return handle


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(args.host, args.port, serialized(app), threaded=True, request_handler=MotoRequestHandler)
    os.environ.setdefault("MOTO_PORT", str(server.port))
    print(f"port {server.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
