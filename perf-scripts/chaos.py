#!/usr/bin/env python3
"""chaos.py - the recording sink, the injector and the report of perf-scripts/chaos.sh. Python 3 standard library
only (asyncio). Loopback only: every host is 127.0.0.1.

Usage:
  chaos.py sink PORT RECORDS [DEFER_PERCENT]
      An SMTP server on 127.0.0.1:PORT (EHLO with PIPELINING, 8BITMIME, SIZE; no CHUNKING, so FastMta sends DATA
      with dot-stuffing). Every message is un-stuffed, its X-Chaos-Id header, body id line and X-Chaos-Hash (SHA-256
      of the body) checked, and one line per recipient "id<TAB>recipient<TAB>ok|corrupt" appended to RECORDS
      (flushed) before the 250 goes out. DEFER_PERCENT (default 5) of the messages get 451 instead (not recorded):
      FastMta must retry them. Runs until SIGTERM.
  chaos.py inject PORT ACKED SESSIONS STOPFILE
      SESSIONS concurrent SMTP sessions to 127.0.0.1:PORT, each sending messages one after another (1-3
      recipients in 5 domains, 200 B - 20 KiB bodies with lines that start with dots) over connections of up to 20
      messages; every message a unique id in a header and in the body, and the body's SHA-256 in a header. A
      message's id is appended to ACKED.sent before its data goes out, and, once answered 250, to ACKED
      ("id<TAB>rcpt,rcpt"), flushed before the next command. A refused connection or a reset (the server was killed) is retried after 0.2 s. The injector stops
      starting messages once STOPFILE exists, finishes the ones in progress and exits.
  chaos.py report ACKED RECORDS
      Prints acknowledged messages and recipients, deliveries, never_delivered (acknowledged recipients the sink
      never got), duplicates (deliveries of one id to one recipient beyond the first), corrupted (hash or id
      mismatch), unacknowledged_delivered (sent, no 250 heard because of the kill, delivered anyway: allowed) and
      never_sent (ids the injector never sent); exits 1 unless never_delivered, corrupted and never_sent are 0.
"""
import asyncio
import hashlib
import os
import random
import signal
import sys
import uuid


def usage():
    sys.stderr.write(__doc__.split("\n\n", 1)[1])
    sys.exit(2)


# ---------------------------------------------------------------- sink

def unstuff(lines):
    """RFC 5321 4.5.2: drop the dot that starts a line."""
    return b"".join(line[1:] if line.startswith(b".") else line for line in lines)


def check(message):
    """(id, ok) of one received message: the header id, the body's id line and the body hash must all agree."""
    head, sep, body = message.partition(b"\r\n\r\n")
    if not sep:
        return None, False
    fields = {}
    for line in head.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if colon and not name.startswith((b" ", b"\t")):
            fields.setdefault(name.strip().lower(), value.strip().decode("latin-1"))
    mid = fields.get(b"x-chaos-id")
    ok = (mid is not None and body.startswith(f"id={mid}\r\n".encode("ascii"))
          and hashlib.sha256(body).hexdigest() == fields.get(b"x-chaos-hash"))
    return mid, ok


async def sink_session(reader, writer, records, defer_percent):
    rng = random.Random()
    writer.write(b"220 chaos-sink ESMTP\r\n")
    rcpts = []
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250-chaos-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
            elif verb == b"MAIL":
                rcpts = []
                writer.write(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                rcpts.append(line[8:].strip().strip(b"<>").decode("latin-1"))
                writer.write(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                await writer.drain()
                lines = []
                while True:
                    data = await reader.readline()
                    if not data:
                        return
                    if data == b".\r\n":
                        break
                    lines.append(data)
                if rng.randrange(100) < defer_percent:
                    writer.write(b"451 4.3.0 Chaos says later\r\n")
                else:
                    mid, ok = check(unstuff(lines))
                    for rcpt in rcpts:
                        records.write(f"{mid}\t{rcpt}\t{'ok' if ok else 'corrupt'}\n")
                    records.flush()
                    writer.write(b"250 2.0.0 Ok\r\n")
                rcpts = []
            elif verb == b"RSET":
                rcpts = []
                writer.write(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"250 2.0.0 Ok\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def sink(port, path, defer_percent):
    with open(path, "a", encoding="ascii") as records:
        server = await asyncio.start_server(lambda r, w: sink_session(r, w, records, defer_percent), "127.0.0.1", port,
                                            limit=1 << 20)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with server:
            await stop.wait()


# ---------------------------------------------------------------- injector

def make_message(rng, mid, rcpts):
    lines = [f"id={mid}\r\n".encode("ascii")]
    for _ in range(rng.randrange(2, 200)):
        text = "".join(rng.choice("abcdefghij .,-") for _ in range(rng.randrange(0, 100)))
        if rng.randrange(8) == 0:
            text = "." + text  # the server stuffs it on the way out; the sink un-stuffs it
        lines.append(text.encode("ascii") + b"\r\n")
    body = b"".join(lines)
    head = (f"From: <chaos@inject.chaos.test>\r\nTo: {', '.join('<' + r + '>' for r in rcpts)}\r\n"
            f"Subject: chaos {mid}\r\nMessage-Id: <{mid}@inject.chaos.test>\r\nX-Chaos-Id: {mid}\r\n"
            f"X-Chaos-Hash: {hashlib.sha256(body).hexdigest()}\r\n\r\n")
    stuffed = b"".join(b"." + line if line.startswith(b".") else line for line in lines)
    return head.encode("ascii") + stuffed + b".\r\n"


async def reply(reader):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])


async def inject_session(port, acked, sent, stopfile, stats):
    rng = random.Random()
    while not os.path.exists(stopfile):
        writer = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if await reply(reader) != 220:
                raise ConnectionError("banner")
            writer.write(b"EHLO inject.chaos.test\r\n")
            if await reply(reader) != 250:
                raise ConnectionError("EHLO")
            for _ in range(rng.randrange(1, 21)):
                if os.path.exists(stopfile):
                    break
                mid = uuid.uuid4().hex
                rcpts = sorted({f"r{rng.randrange(1000)}@d{rng.randrange(5)}.chaos.test" for _ in range(rng.randrange(1, 4))})
                writer.write(b"MAIL FROM:<chaos@inject.chaos.test>\r\n"
                             + b"".join(f"RCPT TO:<{r}>\r\n".encode("ascii") for r in rcpts) + b"DATA\r\n")
                codes = [await reply(reader) for _ in range(len(rcpts) + 2)]
                if codes[0] != 250 or any(c != 250 for c in codes[1:-1]) or codes[-1] != 354:
                    stats["refused"] += 1
                    writer.write(b"RSET\r\n")
                    await reply(reader)
                    continue
                stats["sent"] += 1
                sent.write(mid + "\n")
                sent.flush()
                writer.write(make_message(rng, mid, rcpts))
                code = await reply(reader)
                if code == 250:
                    acked.write(f"{mid}\t{','.join(rcpts)}\n")
                    acked.flush()
                    stats["acked"] += 1
                else:
                    stats["refused"] += 1
            writer.write(b"QUIT\r\n")
            await writer.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
            stats["broken"] += 1
            await asyncio.sleep(0.2)
        finally:
            if writer is not None:
                writer.close()


async def inject(port, path, sessions, stopfile):
    stats = {"sent": 0, "acked": 0, "refused": 0, "broken": 0}
    with open(path, "a", encoding="ascii") as acked, open(path + ".sent", "a", encoding="ascii") as sent:
        await asyncio.gather(*(inject_session(port, acked, sent, stopfile, stats) for _ in range(sessions)))
    print(" ".join(f"{k}={v}" for k, v in stats.items()), flush=True)


# ---------------------------------------------------------------- report

def report(acked_path, records_path):
    acked = {}
    with open(acked_path, encoding="ascii") as f:
        for line in f:
            mid, rcpts = line.rstrip("\n").split("\t")
            acked[mid] = rcpts.split(",")
    deliveries = {}
    corrupted = 0
    unknown = set()
    with open(records_path, encoding="ascii") as f:
        for line in f:
            mid, rcpt, status = line.rstrip("\n").split("\t")
            deliveries[(mid, rcpt)] = deliveries.get((mid, rcpt), 0) + 1
            corrupted += status != "ok"
    with open(acked_path + ".sent", encoding="ascii") as f:
        sent_ids = {line.strip() for line in f}
    unacked = set()
    for (mid, _) in deliveries:
        if mid not in sent_ids:
            unknown.add(mid)
        elif mid not in acked:
            unacked.add(mid)
    pairs = [(mid, r) for mid, rcpts in acked.items() for r in rcpts]
    missing = [p for p in pairs if p not in deliveries]
    duplicates = sum(n - 1 for n in deliveries.values() if n > 1)
    duplicated_pairs = sum(1 for n in deliveries.values() if n > 1)
    print(f"acknowledged={len(acked)} acknowledged_recipients={len(pairs)} deliveries={sum(deliveries.values())} "
          f"never_delivered={len(missing)} duplicates={duplicates} duplicated_recipients={duplicated_pairs} "
          f"corrupted={corrupted} unacknowledged_delivered={len(unacked)} never_sent={len(unknown)}")
    for mid, rcpt in missing[:20]:
        print(f"never delivered: {mid} {rcpt}", file=sys.stderr)
    return 1 if missing or corrupted or unknown else 0


def main():
    args = sys.argv[1:]
    if not args:
        usage()
    if args[0] == "sink" and len(args) in (3, 4):
        asyncio.run(sink(int(args[1]), args[2], int(args[3]) if len(args) == 4 else 5))
    elif args[0] == "inject" and len(args) == 5:
        asyncio.run(inject(int(args[1]), args[2], int(args[3]), args[4]))
    elif args[0] == "report" and len(args) == 3:
        sys.exit(report(args[1], args[2]))
    else:
        usage()


if __name__ == "__main__":
    main()
