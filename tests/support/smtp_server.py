#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd) on 127.0.0.1.

Usage: smtp_server.py DIR PORT [USER:PASSWORD]

Each accepted message is saved as DIR/<n>.eml. With USER:PASSWORD, AUTH
(PLAIN/LOGIN, allowed without TLS on loopback) is required. While the file
DIR/reject exists, RCPT TO is answered with its content, e.g.
"550 5.1.1 mailbox unavailable". Prints "ready" when it accepts connections
and runs until killed.
"""
import asyncio
import itertools
import os
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reject = os.path.join(self.directory, "reject")
        if os.path.exists(reject):
            with open(reject) as f:
                return f.read().strip()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        tmp = os.path.join(self.directory, f"{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.directory, f"{n}.eml"))
        return "250 2.0.0 Message accepted"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)

    return check


def main():
    directory, port = sys.argv[1], int(sys.argv[2])
    kwargs = {}
    if len(sys.argv) > 3:
        user, password = sys.argv[3].split(":", 1)
        kwargs = dict(
            authenticator=authenticator(user, password),
            auth_required=True,
            auth_require_tls=False,
        )
    controller = Controller(Handler(directory), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
