#!/usr/bin/env python3
"""The ISO 8583 benchmark, beside the HTTP path in one run: `bench/run iso8583 sqlite|postgres`
starts the database and the server (with its ISO 8583 port), makes the fixtures, then runs this.

Each round, on the same server minutes apart:
  - wrk on POST /authorizations (bench/authorizations.lua, 32 connections), closed loop;
  - the ISO 8583 load in closed loop: `--connections` connections, each with `--window` messages in
    flight (32 in all by default, as wrk), from `--processes` client processes (one by default;
    several counts alternate within each round, to tell the client's part of the rate), 0100s over the fixtures' cards (7% at a blocked
    category, so declined; 1% repeating an earlier message); the server's CPU per decision from
    /proc over the run;
  - the ISO 8583 load in open loop at half of that peak: latency from each message's scheduled
    send time to its answer (no coordinated omission), and beside it the share of 0100s the server
    itself answered within 10 ms of reading them (its latency histogram on /metrics), which tells
    the server's part of the p99 from the client's and the kernel's;
  - on PostgreSQL (`--database`), right after, the database alone at the same pace: pgbench writing
    the narrow model's decisions in today's shape (bench/floor/pg_narrow_floor.py
    --one-statement), a statement of three decisions at a third of that rate, open loop, on the
    same cluster: the p99 the database itself gives a batch, with no server and no client of ours.
This client is Python on the same two cores: its own CPU per message is printed too.
"""
import argparse
import json
import multiprocessing
import os
import random
import re
import resource
import selectors
import socket
import struct
import subprocess
import time

TICKS = os.sysconf("SC_CLK_TCK")
# Fields 2, 3, 4, 7, 11, 14, 18, 22, 32, 37, 41, 42, 43, 49 of a 0100.
BITMAP = "%016X" % sum(1 << (64 - f) for f in (2, 3, 4, 7, 11, 14, 18, 22, 32, 37, 41, 42, 43, 49))
PLACE = "Bench Store".ljust(23) + "Austin".ljust(13) + "TX" + "US"


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def own_cpu_seconds():
    """This process's CPU and that of its client processes that have ended."""
    return sum(usage.ru_utime + usage.ru_stime
               for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


def in_processes(processes, work, shares):
    """`work(*share)` for each share, each in a client process of its own, all at once: their
    results in order, once every process has ended."""
    pool = multiprocessing.get_context("fork").Pool(processes)
    try:
        return pool.starmap(work, shares)
    finally:
        pool.close()
        pool.join()


def split(total, parts):
    """`total` in `parts` whole shares as even as can be."""
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


class Messages:
    """0100 frames in the load's mix, each with its STAN (unique within a run) as the key. The RRN
    starts with the run's last digit: client processes of one run differ there."""

    def __init__(self, cards, run):
        self.cards = cards
        self.run = run
        self.count = 0
        self.recent = []
        self.rng = random.Random(run)

    def next(self):
        if self.recent and self.rng.randrange(100) < 1:
            return self.rng.choice(self.recent)
        self.count += 1
        card = self.cards[self.rng.randrange(len(self.cards))]
        mcc = "7995" if self.rng.randrange(100) < 7 else "5411"
        stan = f"{self.count % 1_000_000:06d}"
        rrn = f"{self.run % 10}{self.count:011d}"
        body = ("0100" + BITMAP + f"{len(card['pan']):02d}" + card["pan"] + "000000" + f"{self.rng.randint(1, 500):012d}"
                + time.strftime("%m%d%H%M%S", time.gmtime()) + stan + card["expiry"] + mcc + "812" + "05" + "12345" + rrn
                + "TERM0001" + "MERCHANT0000001" + PLACE + "840").encode()
        message = (stan, struct.pack(">H", len(body)) + body)
        self.recent.append(message)
        if len(self.recent) > 100:
            self.recent.pop(0)
        return message


class Link:
    def __init__(self, address):
        # The listener binds just after HTTP answers (once the migrations are applied).
        for attempt in range(300):
            try:
                self.sock = socket.create_connection(address)
                break
            except ConnectionRefusedError:
                if attempt == 299:
                    raise
                time.sleep(0.05)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.inbox = b""
        self.outbox = b""

    def answers(self):
        """(STAN, response code) of every whole answer read so far."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed by the server")
                self.inbox += chunk
        except BlockingIOError:
            pass
        out = []
        while len(self.inbox) >= 2:
            length = struct.unpack(">H", self.inbox[:2])[0]
            if len(self.inbox) < 2 + length:
                break
            answer, self.inbox = self.inbox[2:2 + length].decode(), self.inbox[2 + length:]
            out.append(answer_fields(answer))
        return out

    def send(self, data):
        self.outbox += data
        self.flush()

    def flush(self):
        try:
            while self.outbox:
                sent = self.sock.send(self.outbox)
                self.outbox = self.outbox[sent:]
        except BlockingIOError:
            pass


def answer_fields(answer):
    """STAN and response code of a 0110 as this server answers the bench's 0100s: after the type and
    the bitmap come fields 2 (LLVAR), 3, 4, 7 and 11; the last are 39, 41 (8), 42 (15) and 49 (3)."""
    position = 4 + 16
    position += 2 + int(answer[position:position + 2]) + 6 + 12 + 10
    return answer[position:position + 6], answer[-28:-26]


def closed_loop(address, cards, connections, window, seconds, run, processes):
    """Messages answered and their response codes, from every client process."""
    answered, codes = 0, {}
    shares = [(address, cards, count, window, seconds, run * 10 + index) for index, count in enumerate(split(connections, processes)) if count]
    for got, got_codes in in_processes(processes, closed_loop_process, shares):
        answered += got
        for code, count in got_codes.items():
            codes[code] = codes.get(code, 0) + count
    return answered, codes


def closed_loop_process(address, cards, connections, window, seconds, run):
    messages = Messages(cards, run)
    links = [Link(address) for _ in range(connections)]
    selector = selectors.DefaultSelector()
    for link in links:
        selector.register(link.sock, selectors.EVENT_READ, link)
        for _ in range(window):
            link.send(messages.next()[1])
    codes = {}
    answered = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in selector.select(timeout=0.1):
            link = key.data
            for _, code in link.answers():
                answered += 1
                codes[code] = codes.get(code, 0) + 1
                link.send(messages.next()[1])
    for link in links:
        link.sock.close()
    return answered, codes


def open_loop(address, cards, connections, rate, seconds, run, processes):
    """Messages answered and sent, and the p50 and p99 of their latencies, over every client process."""
    shares = [(address, cards, count, rate / processes, seconds, run * 10 + index)
              for index, count in enumerate(split(connections, processes)) if count]
    latencies, total = [], 0
    for got, sent in in_processes(processes, open_loop_process, shares):
        latencies += got
        total += sent
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")
    return len(latencies), total, pick(0.5), pick(0.99)


def open_loop_process(address, cards, connections, rate, seconds, run):
    messages = Messages(cards, run)
    links = [Link(address) for _ in range(connections)]
    selector = selectors.DefaultSelector()
    for link in links:
        selector.register(link.sock, selectors.EVENT_READ, link)
    sent = {}
    latencies = []
    start = time.monotonic()
    total = int(rate * seconds)
    index = 0
    while index < total or (sent and time.monotonic() < start + seconds + 10):
        now = time.monotonic()
        while index < total and start + index / rate <= now:
            stan, frame = messages.next()
            sent.setdefault(stan, []).append(start + index / rate)
            links[index % connections].send(frame)
            index += 1
        for key, _ in selector.select(timeout=0.0005):
            for stan, _ in key.data.answers():
                scheduled = sent.get(stan)
                if scheduled:
                    latencies.append(time.monotonic() - scheduled.pop(0))
                    if not scheduled:
                        del sent[stan]
        for link in links:
            link.flush()
    for link in links:
        link.sock.close()
    return latencies, total


def server_buckets(url):
    """The server's own 0100 latency histogram: cumulative count by upper bound in seconds."""
    text = subprocess.run(["curl", "-fs", url + "/metrics"], capture_output=True, text=True, check=True).stdout
    found = re.findall(r'zentra_iso8583_message_duration_seconds_bucket\{[^}]*mti="0100"[^}]*le="([^"]+)"[^}]*\} (\d+)', text)
    return {float(bound): int(count) for bound, count in found}


def within(before, after, bound):
    """The share of the messages between two scrapes that the server answered within `bound` s."""
    total = after.get(float("inf"), 0) - before.get(float("inf"), 0)
    return (after.get(bound, 0) - before.get(bound, 0)) / total if total else float("nan")


FLOOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "floor", "pg_narrow_floor.py")
FLOOR_PER_STATEMENT = 3


def floor(database, cards, earlier, rate, seconds, keep=True):
    """p50 and p99 (ms) of the database alone writing decisions at `rate` a second, in statements of
    FLOOR_PER_STATEMENT; the first call fills its schema."""
    output = subprocess.run(["python3", FLOOR, database, str(cards), str(earlier), str(FLOOR_PER_STATEMENT), "1", str(seconds),
                             "--one-statement", "--rate", str(max(1, rate // FLOOR_PER_STATEMENT))] + (["--keep"] if keep else []),
                            capture_output=True, text=True, check=True).stdout
    found = re.search(r"p50 ([\d.]+) ms, p99 ([\d.]+) ms", output)
    return (float(found.group(1)), float(found.group(2))) if found else (float("nan"), float("nan"))


def wrk(url, seconds, script, args):
    output = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", script, url, "--", *args],
                            capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--iso", required=True, help="host:port of the ISO 8583 listener")
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--fixtures", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--database", help="the PostgreSQL cluster's URL: the database alone is measured beside each round")
    parser.add_argument("--earlier", type=int, default=1_000_000, help="the fixtures' earlier decisions (the database alone gets as many)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1],
                        help="client processes; several counts alternate within each round")
    args = parser.parse_args()

    made = json.load(open(args.fixtures))
    cards = made["networkCards"]
    cards_file = os.path.join(args.work, "cards.txt")
    with open(cards_file, "w") as f:
        f.write("\n".join(made["cards"]) + "\n")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "authorizations.lua")
    host, port = args.iso.rsplit(":", 1)
    address = (host, int(port))
    print(f"fixtures: {len(cards)} cards; wrk -t2 -c32 on HTTP; ISO 8583 {args.connections} connections x {args.window} in flight "
          f"from {' or '.join(map(str, args.processes))} processes; "
          f"warm-up {args.warmup} s; {args.duration} s per run; {args.rounds} rounds", flush=True)
    if args.database:
        # The floor's own schema, as many cards and earlier decisions as the fixtures.
        floor(args.database, len(cards), args.earlier, 100, 1, keep=False)
    closed_loop(address, cards, args.connections, args.window, args.warmup, run=1, processes=args.processes[0])

    rows = []
    for number, processes in ((number, processes) for number in range(1, args.rounds + 1) for processes in args.processes):
        row = {"round": number, "processes": processes}
        row["http"] = wrk(args.url, args.duration, script, [cards_file, made["networkKey"], f"iso-round{number}-{time.time_ns()}"])
        server, client = cpu_seconds(args.server_pid), own_cpu_seconds()
        answered, codes = closed_loop(address, cards, args.connections, args.window, args.duration, run=10 + number, processes=processes)
        row["iso"] = answered / args.duration
        row["server_us"] = (cpu_seconds(args.server_pid) - server) / max(1, answered) * 1e6
        row["client_us"] = (own_cpu_seconds() - client) / max(1, answered) * 1e6
        row["codes"] = codes
        half = max(1, int(row["iso"] / 2))
        before = server_buckets(args.url)
        got, wanted, p50, p99 = open_loop(address, cards, args.connections, half, args.duration, run=20 + number, processes=processes)
        row.update(open_rate=half, open_answered=got, open_sent=wanted, p50_ms=p50, p99_ms=p99,
                   server_within_10ms=within(before, server_buckets(args.url), 0.01))
        if args.database:
            row["floor_p50_ms"], row["floor_p99_ms"] = floor(args.database, len(cards), args.earlier, half, args.duration)
        rows.append(row)
        print(json.dumps(row), flush=True)

    print()
    alone = " database alone p50 / p99 ms |" if args.database else ""
    print("| round | client processes | HTTP authorizations/s (wrk) | ISO 8583 decisions/s | ratio | server CPU µs/decision | client CPU µs/message | open loop rate | p50 ms | p99 ms | server within 10 ms |" + alone)
    print("|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if args.database else ""))
    for row in rows:
        alone = f" {row['floor_p50_ms']:.2f} / {row['floor_p99_ms']:.2f} |" if args.database else ""
        print(f"| {row['round']} | {row['processes']} | {row['http']:,.0f} | {row['iso']:,.0f} | {row['iso'] / row['http']:.2f} | {row['server_us']:.0f} | "
              f"{row['client_us']:.0f} | {row['open_rate']:,} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['server_within_10ms']:.2%} |{alone}")


if __name__ == "__main__":
    main()
