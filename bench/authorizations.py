#!/usr/bin/env python3
"""The authorization benchmark, measured side by side in one run: `bench/run authorizations
sqlite|postgres` starts the database and the server(s), then runs this.

Each round, on the same server and the same machine minutes apart:
  - wrk on GET /healthz (the HTTP floor of this server), then wrk on POST /authorizations
    (bench/authorizations.lua: many cards, 7% declines, 1% replays), closed loop;
  - the server's CPU per decision over that run (utime + stime from /proc/PID/stat), and on
    PostgreSQL the database's (every process of the cluster);
  - on PostgreSQL, pgbench TPC-B (scale 10, 32 clients, 2 threads) on the same cluster;
  - the in-house open-loop client (`zentra-bench authorizations --rate`) at half of the round's
    peak: latency from each request's scheduled time, so no coordinated omission.
One warm-up before the first round. A table of every round ends the run, with the ratios the
targets are stated in (authorizations/s against /healthz and against TPC-B).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """utime + stime of these processes, in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except FileNotFoundError:
            pass
    return total / TICKS


def cluster_pids(data_directory):
    """The postmaster of a PostgreSQL data directory and every process it started."""
    with open(os.path.join(data_directory, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                        pids.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return pids


def wrk(url, seconds, connections, script=None, args=()):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", script]
    command.append(url)
    if args:
        command += ["--", *args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", output)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)] if p99 else float("nan")
    return {"rate": rate, "requests": requests, "non2xx": int(errors.group(1)) if errors else 0, "p99_ms": p99_ms}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zentra-bench", required=True)
    parser.add_argument("--url", action="append", required=True)
    parser.add_argument("--server-pid", action="append", type=int, required=True)
    parser.add_argument("--fixtures", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--pg-data", help="the PostgreSQL data directory (PostgreSQL runs)")
    parser.add_argument("--tpcb-url", help="a database of the same cluster for pgbench TPC-B")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    made = json.load(open(args.fixtures))
    cards_file = os.path.join(args.work, "cards.txt")
    with open(cards_file, "w") as f:
        f.write("\n".join(made["cards"]) + "\n")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "authorizations.lua")
    url = args.url[0]
    print(f"fixtures: {len(made['cards'])} cards; wrk -t2 -c{args.connections}; warm-up {args.warmup} s; {args.duration} s per run; "
          f"{args.rounds} rounds", flush=True)
    if args.tpcb_url:
        subprocess.run(["pgbench", "-i", "-s", "10", "-q", args.tpcb_url], check=True, capture_output=True)
    wrk(url, args.warmup, args.connections, script, [cards_file, made["networkKey"], "warmup"])

    rounds = []
    for number in range(1, args.rounds + 1):
        row = {"round": number}
        row["healthz"] = wrk(url + "/healthz", args.duration, args.connections)["rate"]
        database = cluster_pids(args.pg_data) if args.pg_data else []
        before = (cpu_seconds(args.server_pid), cpu_seconds(database), time.monotonic())
        run = wrk(url, args.duration, args.connections, script, [cards_file, made["networkKey"], f"round{number}-{time.time_ns()}"])
        after = (cpu_seconds(args.server_pid), cpu_seconds(database), time.monotonic())
        row["authorizations"] = run["rate"]
        row["wrk_p99_ms"] = run["p99_ms"]
        row["non2xx"] = run["non2xx"]
        row["server_us"] = (after[0] - before[0]) / run["requests"] * 1e6
        row["server_cores"] = (after[0] - before[0]) / (after[2] - before[2])
        if args.pg_data:
            row["database_us"] = (after[1] - before[1]) / run["requests"] * 1e6
        if args.tpcb_url:
            output = subprocess.run(["pgbench", "-b", "tpcb-like", "-c", "32", "-j", "2", "-T", str(args.duration), "-n", args.tpcb_url],
                                    capture_output=True, text=True, check=True).stdout
            row["tpcb"] = float(re.search(r"^tps = ([\d.]+)", output, re.M).group(1))
        half = max(1, int(row["authorizations"] / 2))
        output = subprocess.run([args.zentra_bench, "authorizations", "--fixtures", args.fixtures, "--url", url, "--rate", str(half),
                                 "--duration", str(args.duration), "--concurrency", str(args.connections)],
                                capture_output=True, text=True, check=True).stdout
        latency = re.search(r"p50=([\d.]+) p90=([\d.]+) p99=([\d.]+) p99.9=([\d.]+)", output)
        answered = re.search(r"= (\d+) authorizations/s", output)
        row["open_rate"] = half
        row["open_answered"] = int(answered.group(1)) if answered else 0
        row["p50_ms"], row["p99_ms"] = float(latency.group(1)), float(latency.group(3))
        rounds.append(row)
        print(json.dumps(row), flush=True)

    print()
    tpcb = args.tpcb_url is not None
    header = "| round | /healthz/s | authorizations/s | ratio | " + ("TPC-B tps | ratio | " if tpcb else "") \
        + "server CPU µs/decision | " + ("PostgreSQL CPU µs/decision | " if args.pg_data else "") \
        + "open loop rate | p50 ms | p99 ms |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for row in rounds:
        cells = [str(row["round"]), f"{row['healthz']:,.0f}", f"{row['authorizations']:,.0f}", f"{row['authorizations'] / row['healthz']:.3f}"]
        if tpcb:
            cells += [f"{row['tpcb']:,.0f}", f"{row['authorizations'] / row['tpcb']:.2f}"]
        cells.append(f"{row['server_us']:.0f}")
        if args.pg_data:
            cells.append(f"{row['database_us']:.0f}")
        cells += [f"{row['open_rate']:,}", f"{row['p50_ms']:.2f}", f"{row['p99_ms']:.2f}"]
        print("| " + " | ".join(cells) + " |")
    if any(row["non2xx"] for row in rounds):
        print(f"non-2xx answers under wrk: {[row['non2xx'] for row in rounds]}", file=sys.stderr)


if __name__ == "__main__":
    main()
