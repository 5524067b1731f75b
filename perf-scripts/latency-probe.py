#!/usr/bin/env python3
"""latency-probe.py - time-to-250 of an SMTP server: per message, the time from sending the end of DATA (the final
"." line) until the server's reply to it arrives. Python 3 standard library only (asyncio).

Usage: perf-scripts/latency-probe.py HOST:PORT SIZE SESSIONS COUNT [conn|reuse]
  HOST      must be a loopback address (127.x.x.x); anything else is refused
  SIZE      payload bytes, k = KiB (1k, 10k, 100k); about 150 bytes of headers come on top (like smtp-source)
  SESSIONS  concurrent SMTP sessions; COUNT messages in all, taken from one shared counter
  MODE      conn = one message per connection (QUIT, reconnect), reuse = each session keeps its connection
Env: MAX_SECS (default 120): wall-clock bound; the run stops there and reports status=timeout.
Output, one line:
  RESULT latency target=.. size=.. conc=.. mode=.. count=N ok=K failed=F secs=S p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. status=..
Only messages answered 250 count towards the percentiles (nearest-rank). The probe speaks EHLO and pipelines
MAIL/RCPT/DATA (the server must offer PIPELINING), sends the body in one write, and measures with
time.perf_counter() on the client. The probe is one Python process: at 64 sessions its own event loop adds
queueing delay; measure it against smtp-sink (the "limit" row) to see that floor.
Exit status 0 only if all COUNT messages got a 250.
"""
import asyncio
import os
import sys
import time


def usage():
    sys.stderr.write(__doc__.split("\n\n", 1)[1])
    sys.exit(2)


def parse_size(text):
    return int(text[:-1]) * 1024 if text[-1] in "kK" else int(text)


def make_body(size, n):
    head = (f"From: <probe@load.bench.example>\r\nTo: <rcpt@dest.bench.example>\r\n"
            f"Subject: latency probe {n}\r\nMessage-Id: <probe-{n}-{os.getpid()}@load.bench.example>\r\n\r\n")
    line = b"x" * 78 + b"\r\n"
    payload = line * (size // len(line)) + b"y" * (size % len(line))
    if size % len(line):
        payload += b"\r\n"
    return head.encode("ascii") + payload


async def reply(reader):
    """One (possibly multi-line) reply; returns (code, last line)."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("connection closed by the server")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), line.decode("latin-1").strip()


async def command(reader, writer, text, expect):
    writer.write(text.encode("ascii") + b"\r\n")
    await writer.drain()
    code, line = await reply(reader)
    if code // 100 != expect:
        raise RuntimeError(f"{text.split(' ')[0]}: {line}")


async def open_session(host, port):
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    code, line = await reply(reader)
    if code != 220:
        raise RuntimeError(f"banner: {line}")
    await command(reader, writer, "EHLO probe.load.bench.example", 2)
    return reader, writer


async def close_session(writer, reader):
    try:
        writer.write(b"QUIT\r\n")
        await writer.drain()
        await asyncio.wait_for(reply(reader), 5)
    except (OSError, ConnectionError, asyncio.TimeoutError, RuntimeError, ValueError):
        pass
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass


async def session(host, port, body, mode, state, latencies, errors):
    reader = writer = None
    try:
        while state["next"] < state["count"]:
            n = state["next"]
            state["next"] += 1
            if writer is None:
                reader, writer = await open_session(host, port)
            # MAIL, RCPT and DATA in one write (PIPELINING, RFC 2920), then the three replies.
            writer.write(f"MAIL FROM:<probe@load.bench.example>\r\nRCPT TO:<rcpt{n}@dest.bench.example>\r\nDATA\r\n".encode("ascii"))
            for verb, expect in (("MAIL", 2), ("RCPT", 2), ("DATA", 3)):
                code, line = await reply(reader)
                if code // 100 != expect:
                    raise RuntimeError(f"{verb}: {line}")
            writer.write(body)
            await writer.drain()
            writer.write(b".\r\n")  # asyncio hands it to the kernel at once when the socket buffer has room
            t0 = time.perf_counter()
            await writer.drain()
            code, line = await reply(reader)
            elapsed = time.perf_counter() - t0
            if code == 250:
                latencies.append(elapsed)
            else:
                errors.append(line)
            if mode == "conn":
                await close_session(writer, reader)
                reader = writer = None
    except (OSError, ConnectionError, RuntimeError, ValueError) as e:
        errors.append(f"{type(e).__name__}: {e}")
    finally:
        if writer is not None:
            await close_session(writer, reader)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))  # nearest rank, ceil(n*p/100)
    return sorted_values[int(rank) - 1]


async def main():
    if len(sys.argv) < 5:
        usage()
    target, size, conc, count = sys.argv[1], parse_size(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    mode = sys.argv[5] if len(sys.argv) > 5 else "conn"
    host, _, port = target.rpartition(":")
    if not host.startswith("127.") or not port.isdigit() or mode not in ("conn", "reuse"):
        sys.stderr.write(f"refusing target '{target}' (loopback 127.x.x.x:PORT only) or bad mode '{mode}'\n")
        sys.exit(2)
    # The body's headers carry no per-message part that matters to the server; one body for all messages.
    body = make_body(size, 0)
    state = {"next": 0, "count": count}
    latencies, errors = [], []
    t0 = time.perf_counter()
    status = "ok"
    try:
        await asyncio.wait_for(
            asyncio.gather(*(session(host, int(port), body, mode, state, latencies, errors) for _ in range(conc))),
            float(os.environ.get("MAX_SECS", "120")))
    except asyncio.TimeoutError:
        status = "timeout"
    secs = time.perf_counter() - t0
    latencies.sort()
    if status == "ok" and (errors or len(latencies) != count):
        status = "errors"
    ms = lambda v: f"{v * 1000:.2f}"
    print(f"RESULT latency target={target} size={size} conc={conc} mode={mode} count={count} ok={len(latencies)} "
          f"failed={len(errors)} secs={secs:.3f} p50_ms={ms(percentile(latencies, 50))} p90_ms={ms(percentile(latencies, 90))} "
          f"p99_ms={ms(percentile(latencies, 99))} max_ms={ms(latencies[-1] if latencies else float('nan'))} status={status}")
    for e in errors[:5]:
        sys.stderr.write(f"latency-probe: {e}\n")
    return 0 if status == "ok" else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
