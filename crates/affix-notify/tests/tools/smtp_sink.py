"""A real SMTP server for the tests: aiosmtpd (PyPI) on 127.0.0.1:<port>, plain SMTP.

Usage: python smtp_sink.py <port> <outdir>

Recipients starting with "refused" get 550 (permanent), "busy" get 451 (transient).
Every accepted message is parsed with Python's own `email` package (an independent MIME
decoder) and written to <outdir>/<n>.json as {mail_from, rcpt_tos, from, to, subject,
message_id, date, content_type, body}. Prints READY once listening; exits when stdin
closes (the test drops its end)."""
import email
import email.policy
import json
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if address.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "date": str(msg["Date"]),
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            "body": msg.get_content(),
        }
        tmp = os.path.join(self.outdir, "%d.tmp" % self.count)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.outdir, "%d.json" % self.count))
        return "250 2.0.0 Ok: queued as affix-test-%d" % self.count


def main():
    port = int(sys.argv[1])
    controller = Controller(Sink(sys.argv[2]), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    sys.stdin.read()
    controller.stop()


main()
