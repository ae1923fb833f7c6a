"""TracSeq's monthly AWS cost: one lab registering 10,000 samples a month, and 100 such labs
on one deployment. Prints the Markdown tables of docs/cost-model.md, so that page can be
regenerated when a price, a duration or the workload changes:

    python3 infra/scripts/cost_model.py > /tmp/cost.md

Prices: us-east-1 list prices, arm64 Lambda, DynamoDB on demand, no free tier, no savings
plans. Durations: our measured CPU per request (criterion, README) plus DynamoDB's
latency per call in AWS (an assumption: ~5 ms a call, ~10 ms a transaction); memory is
what template.yaml configures, since that is what Lambda bills.
"""

# --- prices (USD) ---------------------------------------------------------------------
LAMBDA_GB_S = 0.0000133334  # arm64, per GB-second
LAMBDA_REQ = 0.20 / 1e6
HTTP_API_REQ = 1.00 / 1e6
DDB_WRU = 0.625 / 1e6  # on-demand write request unit
DDB_RRU = 0.125 / 1e6  # on-demand read request unit
DDB_GB_MONTH = 0.25
PITR_GB_MONTH = 0.20
SQS_REQ = 0.40 / 1e6
S3_GB_MONTH = 0.023
S3_PUT = 0.005 / 1000
LOGS_GB = 0.50  # CloudWatch Logs ingestion (EMF metrics ride in the log lines)
XRAY_TRACE = 5.00 / 1e6  # Tracing: Active; at a lab's request rate nearly every request is sampled
SFN_TRANSITION = 0.025 / 1000
ALARM = 0.10  # standard-resolution alarm, per month
DASHBOARD = 3.00

SAMPLES = 10_000
USERS = 30

# --- workload of one lab for one month -------------------------------------------------
# (what, invocations, memory MB, billed ms each, WRU each, RRU each, through the API?)
WORK = [
    ("register one sample (30 %)", 0.3 * SAMPLES, 256, 25, 10, 1, True),
    ("import 100-row manifests (70 % of samples): create + upload", 2 * 0.7 * SAMPLES / 100, 256, 20, 4, 2, True),
    ("import worker, per row", 0.7 * SAMPLES, 1024, 1, 10, 0.5, False),
    ("validate (status transition)", SAMPLES, 256, 20, 8, 1, True),
    ("place in storage (racks of 96)", SAMPLES / 96, 1024, 250, 16 * 96, 2 * 96, True),
    ("retrieve, return or dispose (one each)", SAMPLES, 1024, 30, 16, 2, True),
    ("library + pool membership", 2 * SAMPLES, 256, 20, 6, 2, True),
    ("runs, sample sheets, QC (384 samples a run)", 8 * SAMPLES / 384, 256, 30, 6, 20, True),
    ("reads: lists, box maps, scans, history (30 per sample)", 30 * SAMPLES, 256, 12, 0, 8, True),
    ("logins (30 users, 2 a working day)", USERS * 2 * 22, 1024, 55, 4, 3, True),
    # Events: ~6 per sample (created, validated, stored, retrieved, library, pool).
    ("outbox publisher (stream batches of ~10 events)", 6 * SAMPLES / 10, 256, 30, 0, 0, False),
    ("consumers: router + fan-out (SQS batches of 10), dedupe per event", 2 * 6 * SAMPLES / 10, 256, 50, 10, 12, False),
    ("notification workers (0.5 deliveries per event, ~3 per batch)", 0.5 * 6 * SAMPLES / 3, 256, 100, 12, 3, False),
    ("lab export (one a year, amortised)", 1 / 12, 1024, 60_000, 0, 20_000, True),
]
EVENTS = 6 * SAMPLES
DELIVERIES = 0.5 * EVENTS
# SQS requests per lab: publisher sends (batched 10, 2 queues), consumer receive + delete
# (batched), delivery jobs send + receive + delete.
SQS_PER_LAB = 2 * EVENTS / 10 + 2 * 2 * EVENTS / 10 + 3 * DELIVERIES
LOG_BYTES_PER_INVOCATION = 1_200  # Lambda START/END/REPORT (JSON) + one EMF record + our lines

# Storage growth per sample: the item (1 KB), 4 history lines, 2 custody records, guard,
# position, 6 events (1 KB each), library and pool entries; both GSIs project ALL.
KB_PER_SAMPLE = 2 * (1 + 4 * 0.3 + 2 * 0.4 + 0.2 + 0.3 + 6 * 1 + 1)
MONTHS = 12  # storage shown after a year of use
# gzip JSON lines vs DynamoDB's item size: 0.08 measured on the backup benchmark's
# synthetic items (4.66 MB for 100,012 items of ~600 B); doubled for real, less
# repetitive lab data.
BACKUP_RATIO = 0.15
BACKUP_DAYS = 30

# --- fixed per deployment --------------------------------------------------------------
# Schedules: digest and storage recovery every 5 minutes, daily backup, monthly key rotation.
SCHEDULED = [("digest + recovery schedules (every 5 min)", 2 * 12 * 24 * 30, 256, 20)]
# Lambda's SQS pollers long-poll each mapped queue (~5 pollers, a call per 20 s when idle).
POLLED_QUEUES = 10
SQS_IDLE = POLLED_QUEUES * 5 * 3 * 60 * 24 * 30
ALARMS = 7 + 11  # root alarms + dead-letter alarms in the nested stacks


def usd(x):
    return f"${x:,.2f}"


def lab_costs():
    rows = []
    lam = req = api = wru = rru = 0.0
    for what, n, mb, ms, w, r, via_api in WORK:
        gbs = n * (mb / 1024) * (ms / 1000)
        lam += gbs * LAMBDA_GB_S
        req += n
        api += n if via_api else 0
        wru += n * w
        rru += n * r
        rows.append((what, n, mb, ms, gbs, n * w, n * r))
    return rows, lam, req, api, wru, rru


def main():
    rows, lam, req, api, wru, rru = lab_costs()
    print("| work (one lab, one month) | invocations | MB | ms | GB-s | WRU | RRU |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for what, n, mb, ms, gbs, w, r in rows:
        print(f"| {what} | {n:,.0f} | {mb} | {ms:,} | {gbs:,.0f} | {w:,.0f} | {r:,.0f} |")
    gbs_total = sum(r[4] for r in rows)
    print(f"| **total** | **{req:,.0f}** | | | **{gbs_total:,.0f}** | **{wru:,.0f}** | **{rru:,.0f}** |")
    print()

    stored_gb = SAMPLES * MONTHS * KB_PER_SAMPLE / 1024 / 1024
    backup_gb = stored_gb * BACKUP_RATIO * BACKUP_DAYS
    per_lab = [
        ("Lambda compute", f"{gbs_total:,.0f} GB-s × ${LAMBDA_GB_S}", gbs_total * LAMBDA_GB_S),
        ("Lambda requests", f"{req:,.0f} × $0.20/M", req * LAMBDA_REQ),
        ("HTTP API", f"{api:,.0f} × $1.00/M", api * HTTP_API_REQ),
        ("DynamoDB writes", f"{wru:,.0f} WRU × $0.625/M", wru * DDB_WRU),
        ("DynamoDB reads", f"{rru:,.0f} RRU × $0.125/M", rru * DDB_RRU),
        (
            f"DynamoDB storage after {MONTHS} months",
            f"{SAMPLES:,} × {MONTHS} samples × {KB_PER_SAMPLE:.1f} KB = {stored_gb:.2f} GB × $0.25",
            stored_gb * DDB_GB_MONTH,
        ),
        ("Point-in-time recovery", f"{stored_gb:.2f} GB × $0.20", stored_gb * PITR_GB_MONTH),
        ("SQS", f"{SQS_PER_LAB:,.0f} requests × $0.40/M", SQS_PER_LAB * SQS_REQ),
        (
            "S3 backups (30 daily copies)",
            f"{stored_gb:.2f} GB × {BACKUP_RATIO} × {BACKUP_DAYS} = {backup_gb:.1f} GB × $0.023",
            backup_gb * S3_GB_MONTH,
        ),
        (
            "CloudWatch Logs (incl. EMF metrics)",
            f"{req:,.0f} × {LOG_BYTES_PER_INVOCATION} B = {req * LOG_BYTES_PER_INVOCATION / 1e9:.2f} GB × $0.50",
            req * LOG_BYTES_PER_INVOCATION / 1e9 * LOGS_GB,
        ),
        ("X-Ray traces", f"{api:,.0f} × $5/M", api * XRAY_TRACE),
        ("Step Functions", "submissions are not in this workload mix: see the per-submission table", 0.0),
    ]
    fixed_gbs = sum(n * (mb / 1024) * (ms / 1000) for _, n, mb, ms in SCHEDULED)
    fixed = [
        ("Scheduled functions", f"{fixed_gbs:,.0f} GB-s × ${LAMBDA_GB_S} + {SCHEDULED[0][1]:,} requests",
         fixed_gbs * LAMBDA_GB_S + SCHEDULED[0][1] * LAMBDA_REQ),
        ("SQS idle long polls", f"{POLLED_QUEUES} queues × 5 pollers × 3/min = {SQS_IDLE:,} × $0.40/M", SQS_IDLE * SQS_REQ),
        ("CloudWatch alarms and dashboard", f"{ALARMS} × $0.10 + $3", ALARMS * ALARM + DASHBOARD),
    ]
    lab_total = sum(c for _, _, c in per_lab)
    fixed_total = sum(c for _, _, c in fixed)

    print("| item | arithmetic | one lab | 100 labs |")
    print("|---|---|---:|---:|")
    for what, how, c in per_lab:
        print(f"| {what} | {how} | {usd(c)} | {usd(100 * c)} |")
    for what, how, c in fixed:
        print(f"| {what} (once per deployment) | {how} | {usd(c)} | {usd(c)} |")
    print(f"| **total per month** | | **{usd(lab_total + fixed_total)}** | **{usd(100 * lab_total + fixed_total)}** |")
    print()
    print(f"Per sample: {usd((lab_total + fixed_total) / SAMPLES * 1000)} per 1,000 samples for one lab, "
          f"{usd((100 * lab_total + fixed_total) / (100 * SAMPLES) * 1000)} per 1,000 samples at 100 labs.")


def submission(n, stored=True):
    """One sample submission saga of `n` samples (docs/sagas.md): transitions, Lambda and
    DynamoDB, with durations assumed for AWS (not moto's)."""
    chunks = -(-n // 24)
    groups = chunks  # validate changes 24 samples per transaction
    # States entered: 4 checkpoints, Map + one per chunk, Slim, Validate, HasStorage,
    # Allocate (or NoStorage), HasJob, NoJob, Complete, Succeed.
    transitions = 4 + 1 + chunks + 1 + 1 + 1 + 1 + 2 + 1 + 1 + (0 if stored else -1)
    racks = -(-n // 96) if stored else 0
    tasks = [  # (what, invocations, MB, ms)
        ("checkpoints", 4 if stored else 3, 256, 20),
        ("register (a chunk: barcodes, one transaction)", chunks, 256, 40),
        ("validate (a batch read and a transaction per 24)", 1, 256, 30 * groups),
        ("allocate (racks of 96, as the storage API)", 1 if stored else 0, 256, 250 * racks),
        ("complete (record and event)", 1, 256, 25),
    ]
    invocations = sum(i for _, i, _, _ in tasks)
    gbs = sum(i * mb / 1024 * ms / 1000 for _, i, mb, ms in tasks)
    # Write units (transactions bill twice): a sample (2 KB), its barcode guard, history
    # line and event when registered (5 WRU); the sample, history line and two events when
    # validated (5); placement as the storage API's (16 a sample, the monthly table's
    # rack row); the submission record: 4 small checkpoint writes and the final one,
    # which carries the ids and positions (~100 B a sample).
    wru = n * 2 * 5 + n * 2 * 5 + (n * 16 if stored else 0) + 2 * (4 * 2 + max(1, n * 100 // 1024))
    rru = n * 2 + n * 2 + 5 * 2  # batch reads of the samples, the record before each write
    rows = [
        ("Step Functions", f"{transitions} transitions × $0.025/1000", transitions * SFN_TRANSITION),
        ("Lambda requests", f"{invocations} × $0.20/M", invocations * LAMBDA_REQ),
        ("Lambda compute", f"{gbs:.2f} GB-s × ${LAMBDA_GB_S}", gbs * LAMBDA_GB_S),
        ("DynamoDB writes", f"{wru:,} WRU × $0.625/M", wru * DDB_WRU),
        ("DynamoDB reads", f"{rru:,} RRU × $0.125/M", rru * DDB_RRU),
    ]
    return rows


def print_submissions():
    print("| item | 96 samples | | 384 samples | |")
    print("|---|---|---:|---|---:|")
    small, large = submission(96), submission(384)
    for (what, a, ca), (_, b, cb) in zip(small, large):
        print(f"| {what} | {a} | ${ca:.5f} | {b} | ${cb:.5f} |")
    ts, tl = sum(c for *_, c in small), sum(c for *_, c in large)
    print(f"| **total** | | **${ts:.4f}** | | **${tl:.4f}** |")
    saga = lambda rows: sum(c for w, _, c in rows if w in ("Step Functions",))
    print()
    print(f"Step Functions is {100 * saga(small) / ts:.0f} % of a 96-sample submission and "
          f"{100 * saga(large) / tl:.0f} % of a 384-sample one; the rest is the same work the API "
          "does for the same samples.")


def run_start(n, pools):
    """One sequencing run start saga (docs/sagas.md) of `n` samples (one library each) in
    `pools` pools, with durations assumed for AWS."""
    # States entered: Reserve, Sheet, Start, Complete, Started.
    transitions = 5
    tasks = [  # (what, invocations, MB, ms)
        ("reserve (read samples, guard per thing)", 1, 256, 30 + 10 * -(-n // 25)),
        ("sheet (pools, check, S3)", 1, 256, 60),
        ("start (20 samples a transaction)", 1, 256, 30 * -(-n // 20)),
        ("complete (record and events)", 1, 256, 25),
    ]
    invocations = sum(i for _, i, _, _ in tasks)
    gbs = sum(i * mb / 1024 * ms / 1000 for _, i, mb, ms in tasks)
    things = 2 * n + pools
    # Transactions bill twice: a guard per thing; per sample its record (2 KB), history
    # line and event; the run record (2 KB) at each of 5 checkpoints and the end.
    wru = 2 * things + 2 * n * (2 + 1 + 1) + 6 * 2
    rru = n * 2 + pools * 4 + things // 4 + 6  # samples, pool partitions, reservations, run
    rows = [
        ("Step Functions", f"{transitions} transitions × $0.025/1000", transitions * SFN_TRANSITION),
        ("Lambda requests", f"{invocations} × $0.20/M", invocations * LAMBDA_REQ),
        ("Lambda compute", f"{gbs:.2f} GB-s × ${LAMBDA_GB_S}", gbs * LAMBDA_GB_S),
        ("DynamoDB writes", f"{wru:,} WRU × $0.625/M", wru * DDB_WRU),
        ("DynamoDB reads", f"{rru:,} RRU × $0.125/M", rru * DDB_RRU),
        ("S3 (the sheet)", "1 PUT × $0.005/1000", S3_PUT),
    ]
    return rows


def print_run_starts():
    print("| item | 96 samples, 4 pools | | 384 samples, 8 pools | |")
    print("|---|---|---:|---|---:|")
    small, large = run_start(96, 4), run_start(384, 8)
    for (what, a, ca), (_, b, cb) in zip(small, large):
        print(f"| {what} | {a} | ${ca:.5f} | {b} | ${cb:.5f} |")
    ts, tl = sum(c for *_, c in small), sum(c for *_, c in large)
    print(f"| **total** | | **${ts:.4f}** | | **${tl:.4f}** |")


if __name__ == "__main__":
    import sys
    if "--submission" in sys.argv:
        print_submissions()
    elif "--run-start" in sys.argv:
        print_run_starts()
    else:
        main()
