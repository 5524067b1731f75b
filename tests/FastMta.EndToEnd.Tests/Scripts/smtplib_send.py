"""Sends one message to FastMta with Python's smtplib: EHLO, STARTTLS, EHLO, AUTH (login), MAIL, RCPT, DATA.

usage: smtplib_send.py PORT USER PASSWORD MESSAGE_ID
Prints "QUEUED <reply text>" and "CONTENT <base64 of the exact message bytes given to DATA>"; exit 0 on 250.
"""
import base64
import smtplib
import ssl
import sys
from email import policy
from email.message import EmailMessage


def main() -> int:
    port, user, password, message_id = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    msg = EmailMessage()
    msg["From"] = "py@client.example"
    msg["To"] = "dest@remote.example"
    msg["Subject"] = "smtplib über STARTTLS"
    msg["Message-ID"] = message_id
    msg.set_content("Hello from smtplib.\n.a line that starts with a dot\nGrüße\n")
    content = msg.as_bytes(policy=policy.SMTPUTF8)  # CRLF line ends, 8-bit UTF-8 body

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test server's certificate is self-signed
    with smtplib.SMTP("127.0.0.1", port, local_hostname="python.test.example", timeout=15) as smtp:
        smtp.ehlo()
        smtp.starttls(context=context)
        smtp.ehlo()
        smtp.login(user, password)
        code, reply = smtp.mail("py@client.example", ["BODY=8BITMIME"])
        if code != 250:
            print(f"MAIL {code} {reply!r}")
            return 1
        code, reply = smtp.rcpt("dest@remote.example")
        if code != 250:
            print(f"RCPT {code} {reply!r}")
            return 1
        code, reply = smtp.data(content)
        print(f"QUEUED {code} {reply.decode()}")
        print("CONTENT " + base64.b64encode(content).decode())
        return 0 if code == 250 else 1


if __name__ == "__main__":
    sys.exit(main())
