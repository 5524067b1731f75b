#!/usr/bin/env python3
"""inject-domains.py - fast SMTP injector that spreads messages over many recipient domains.

Usage: inject-domains.py HOST:PORT COUNT DOMAINS [SIZE] [SESSIONS]
  COUNT     messages to send (one recipient each)
  DOMAINS   message i goes to user<i>@d<i % DOMAINS>.test
  SIZE      message size in bytes (default 1024), headers included
  SESSIONS  concurrent SMTP sessions (default 32), each sending many messages

smtp-source cannot vary the recipient domain (its -r only numbers the local part), so this exists. Each session
uses PIPELINING the way RFC 2920 allows: the end of one message's data, the next MAIL, RCPT and DATA go in one
write, so every message costs one round trip. Any reply other than the expected one stops the run with an error
(exit 1): a perf figure over partly refused mail would be meaningless.
Prints one line: RESULT inject sent=N secs=S rate=R
"""
import asyncio
import sys
import time


def body_for(size: int) -> bytes:
    head = b"From: perf@source.test\r\nTo: perf@dest.test\r\nSubject: queue scale\r\n\r\n"
    line = b"x" * 76 + b"\r\n"
    out = bytearray(head)
    while len(out) + len(line) <= size - 2:
        out += line
    out += b"y" * max(0, size - 2 - len(out)) + b"\r\n"
    return bytes(out) + b".\r\n"


async def read_reply(reader: asyncio.StreamReader) -> bytes:
    while True:
        line = await reader.readline()
        if not line:
            raise RuntimeError("connection closed by the server")
        if len(line) < 4 or line[3:4] != b"-":
            return line


async def expect(reader: asyncio.StreamReader, code: bytes, what: str) -> None:
    line = await read_reply(reader)
    if not line.startswith(code):
        raise RuntimeError(f"{what}: expected {code.decode()}, got {line.decode(errors='replace').strip()}")


async def session(host: str, port: int, numbers: range, domains: int, body: bytes, sent: list) -> None:
    if len(numbers) == 0:
        return
    reader, writer = await asyncio.open_connection(host, port)
    await expect(reader, b"220", "banner")
    writer.write(b"EHLO injector.test\r\n")
    await expect(reader, b"250", "EHLO")

    def envelope(i: int) -> bytes:
        return b"MAIL FROM:<perf@source.test>\r\nRCPT TO:<user%d@d%d.test>\r\nDATA\r\n" % (i, i % domains)

    writer.write(envelope(numbers[0]))
    for n, i in enumerate(numbers):
        await expect(reader, b"250", "MAIL")
        await expect(reader, b"250", "RCPT")
        await expect(reader, b"354", "DATA")
        last = n == len(numbers) - 1
        writer.write(body + (b"QUIT\r\n" if last else envelope(numbers[n + 1])))
        await expect(reader, b"250", "end of data")
        sent[0] += 1
    await expect(reader, b"221", "QUIT")
    writer.close()


async def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    host, port = sys.argv[1].rsplit(":", 1)
    count, domains = int(sys.argv[2]), int(sys.argv[3])
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
    sessions = int(sys.argv[5]) if len(sys.argv) > 5 else 32
    body = body_for(size)
    sent = [0]
    started = time.monotonic()
    tasks = [session(host, int(port), range(s, count, sessions), domains, body, sent) for s in range(sessions)]
    try:
        await asyncio.gather(*tasks)
    except Exception as e:  # noqa: BLE001 - report and fail loudly
        print(f"inject-domains: {e} after {sent[0]} messages", file=sys.stderr)
        return 1
    secs = time.monotonic() - started
    print(f"RESULT inject sent={sent[0]} secs={secs:.1f} rate={sent[0] / secs:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
