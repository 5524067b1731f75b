"""Tries AUTH PLAIN once with Python's smtplib from a given local address: EHLO, AUTH PLAIN, QUIT.

usage: smtplib_auth.py PORT SOURCE_ADDRESS USER PASSWORD
Prints "AUTH <code> <reply text>"; exit 0 whenever the server answered AUTH (whatever the code), 1 otherwise.
smtp.auth is called for one mechanism only: smtp.login would retry a refused PLAIN with LOGIN (two attempts).
"""
import smtplib
import sys


def main() -> int:
    port, source, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    with smtplib.SMTP("127.0.0.1", port, local_hostname="python.test.example", timeout=30,
                      source_address=(source, 0)) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = user, password
        try:
            code, reply = smtp.auth("PLAIN", smtp.auth_plain, initial_response_ok=True)
        except smtplib.SMTPAuthenticationError as e:
            code, reply = e.smtp_code, e.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        print(f"AUTH {code} {text}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
