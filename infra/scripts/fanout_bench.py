"""Fan-out benchmark: 1,000 events through the outbox to 3 webhook subscribers.

Writes the events straight into the table's outbox (as the services' transactions do),
so the measured path is the whole event backbone: the stream, the publisher, the
webhooks queue, the fan-out consumer, the webhook worker queue and worker, and a real
HTTP receiver started here. Latency is receipt time minus the event's time.

Usage: fanout_bench.py API_URL MOTO_URL TOKEN [EVENTS] [SUBSCRIBERS] [PACE]
PACE is events per second (0: all at once, 25 per BatchWriteItem, for throughput; a
steady pace below capacity shows the latency of the path itself, without a queue).
"""
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

API, MOTO, TOKEN = sys.argv[1], sys.argv[2], sys.argv[3]
EVENTS = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
SUBSCRIBERS = int(sys.argv[5]) if len(sys.argv) > 5 else 3
PACE = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
received = []
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        now = time.time()
        with lock:
            received.append((now, self.path, json.loads(body)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def ulid():
    n = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(26)))


def api(method, path, body=None):
    req = urllib.request.Request(
        API + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    me = api("GET", "/api/users/me")
    lab = me["lab_id"]
    hooks = [
        api("POST", "/api/webhooks", {"url": f"http://127.0.0.1:{port}/hook/{i}", "event_types": ["bench.*"]})["webhook"]["id"]
        for i in range(SUBSCRIBERS)
    ]
    ddb = boto3.client(
        "dynamodb", endpoint_url=MOTO, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    table = next(t for t in ddb.list_tables()["TableNames"] if t.endswith("-Table"))
    start = time.time()
    batch = []
    for i in range(EVENTS):
        now = datetime.now(timezone.utc)
        ts = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}Z"
        eid = ulid()
        subject = f"bench/{i}"
        batch.append({"PutRequest": {"Item": {
            "PK": {"S": f"LAB#{lab}#EVENTS#{ts[:10]}"}, "SK": {"S": f"{ts}#{eid}"},
            "GSI1PK": {"S": f"LAB#{lab}#SUBJECT#{subject}"}, "GSI1SK": {"S": f"{ts}#{eid}"},
            "entity": {"S": "event"}, "specversion": {"S": "1.0"}, "id": {"S": eid},
            "source": {"S": "tracseq/bench"}, "type": {"S": "tracseq.bench.fanout"},
            "subject": {"S": subject}, "time": {"S": ts}, "datacontenttype": {"S": "application/json"},
            "labid": {"S": lab}, "correlationid": {"S": "bench"}, "data": {"M": {"i": {"N": str(i)}}},
        }}})
        if len(batch) == 25 or PACE > 0:
            ddb.batch_write_item(RequestItems={table: batch})
            batch = []
        if PACE > 0:
            time.sleep(max(0.0, start + (i + 1) / PACE - time.time()))
    if batch:
        ddb.batch_write_item(RequestItems={table: batch})
    written = time.time()
    want = EVENTS * SUBSCRIBERS
    deadline = time.time() + 600
    while time.time() < deadline:
        with lock:
            if len(received) >= want:
                break
        time.sleep(0.2)
    with lock:
        got = list(received)
    for h in hooks:
        api("DELETE", f"/api/webhooks/{h}")
    lat = sorted(
        (at - datetime.strptime(ev["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()) * 1000
        for at, _, ev in got
    )
    unique = {(path, ev["id"]) for _, path, ev in got}
    if not lat:
        print("nothing was delivered")
        return 1
    last = max(at for at, _, _ in got)
    mode = f"paced at {PACE:g}/s" if PACE > 0 else "all at once"
    print(f"events written: {EVENTS} ({mode}) in {written - start:.1f} s; subscribers: {SUBSCRIBERS}")
    print(f"deliveries: {len(got)} received, {len(unique)} distinct (want {want})")
    print(f"latency ms: p50 {statistics.median(lat):.0f}, p99 {lat[int(len(lat) * 0.99) - 1]:.0f}, max {lat[-1]:.0f}")
    print(f"throughput: {len(got) / (last - start):.0f} deliveries/s ({EVENTS / (last - start):.0f} events/s fanned out to {SUBSCRIBERS})")
    return 0 if len(unique) == want else 1


if __name__ == "__main__":
    sys.exit(main())
