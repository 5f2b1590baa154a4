"""Webhook delivery throughput and latency, measured at a real receiver.

Creates a tenant and an endpoint, then N events (customers, created by 8 client threads), and waits
until the receiver (loopback, answers 204) has them all. Latency is the receiver's arrival time
minus the event's `created_at`. Run through `bench/run webhooks sqlite|postgres [--events N]`.
"""
import argparse
import json
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def call(url, method, path, body, key):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zentra", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--url", action="append", required=True)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()

    arrivals, lock = {}, threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            now = time.time()
            event = json.loads(body)
            with lock:
                arrivals.setdefault(self.headers["webhook-id"], (now, event["created_at"]))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    admin = json.loads(subprocess.run([args.zentra, "tenant", "create", "bench", "--database", args.database],
                                      capture_output=True, text=True, check=True).stdout)["api_key"]
    call(args.url[0], "POST", "/webhook-endpoints",
         {"url": f"http://127.0.0.1:{receiver.server_address[1]}/hooks", "event_types": ["customer.created"]}, admin)

    started = time.time()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: call(args.url[i % len(args.url)], "POST", "/customers",
                                     {"name": f"C{i}", "email": f"c{i}@example.com"}, admin), range(args.events)))
    created = time.time()
    deadline = created + 600
    while len(arrivals) < args.events and time.time() < deadline:
        time.sleep(0.05)
    finished = max(arrival for arrival, _ in arrivals.values())
    latencies = sorted((arrival - datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()) * 1000 for arrival, at in arrivals.values())

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))]

    print(f"events            {args.events} created in {created - started:.1f} s ({args.events / (created - started):,.0f}/s)")
    print(f"delivered         {len(arrivals)} in {finished - started:.1f} s ({len(arrivals) / (finished - started):,.0f}/s), "
          f"the last {finished - created:.2f} s after the last event")
    print(f"latency (ms)      p50 {percentile(0.50):.0f}  p90 {percentile(0.90):.0f}  p99 {percentile(0.99):.0f}  max {latencies[-1]:.0f}")
    receiver.shutdown()


if __name__ == "__main__":
    main()
