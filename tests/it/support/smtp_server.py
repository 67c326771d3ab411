"""A real SMTP server on loopback for the tests, built on aiosmtpd.

usage: smtp_server.py PORT DIR

Each accepted message is saved as DIR/NNNNN.eml, its envelope recipients first in an
X-Envelope-To line. Before each message the server reads DIR/mode:
  accept (or no file)  250, message saved
  tempfail             451, as a busy server answers
  reject               550, as a server refusing the message for good answers
  hang                 never answers, as a stuck server does
"""
import asyncio
import os
import sys
import time

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    def mode(self):
        try:
            with open(os.path.join(self.folder, "mode")) as f:
                return f.read().strip()
        except FileNotFoundError:
            return "accept"

    async def handle_DATA(self, server, session, envelope):
        mode = self.mode()
        if mode == "tempfail":
            return "451 4.3.0 Try again later"
        if mode == "reject":
            return "550 5.1.1 Mailbox unavailable"
        if mode == "hang":
            await asyncio.sleep(3600)
        self.count += 1
        path = os.path.join(self.folder, "%05d.eml" % self.count)
        with open(path + ".part", "wb") as f:
            f.write(("X-Envelope-To: " + ", ".join(envelope.rcpt_tos) + "\r\n").encode())
            f.write(envelope.original_content)
        os.rename(path + ".part", path)
        return "250 OK"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Handler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
