"""Write the report counters a lab's year of 100,000 samples leaves (what the reports
consumer would have folded from their sample.created events): per day, ISO week and month,
by sample type and project, plus the status totals. For the reports benchmark; the
benchmark checks the report's total against N, so a key drifting from the consumer's
(functions/reports/src/store.rs) shows as a wrong answer, not a fast one.

usage: seed_report_counters.py ENDPOINT TABLE LAB N
"""
import datetime as dt
import sys
from collections import Counter

import boto3

endpoint, table_name, lab, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
TYPES = ["DNA", "RNA", "Blood", "Plasma", "Tissue", "Saliva"]
PROJECTS = [f"PRJ-{i:02d}" for i in range(8)]
today = dt.datetime.now(dt.timezone.utc).date()
days = [today - dt.timedelta(days=d) for d in range(365)]

counts = Counter()
for i in range(n):
    # Deterministic spread: weekdays busier, every type and project every day or so.
    day = days[(i * 7919) % 365]
    counts[(day, TYPES[(i // 3) % len(TYPES)], PROJECTS[(i * 31) % len(PROJECTS)])] += 1


def week(d):
    return d - dt.timedelta(days=d.weekday())


items = Counter()
for (day, t, p), c in counts.items():
    for prefix, start in (("", day), ("W", week(day)), ("M", day.replace(day=1))):
        items[(prefix, start, t, p)] += c

def partition(prefix, start):
    # As the consumer keeps them: days by month, weeks and months in one partition each.
    grain = {"": f"D#{start.strftime('%Y-%m')}", "W": "W", "M": "M"}[prefix]
    return f"LAB#{lab}#REPORT#received#{grain}"


table = boto3.resource(
    "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
).Table(table_name)
with table.batch_writer() as batch:
    for (prefix, start, t, p), c in items.items():
        batch.put_item(
            Item={
                "PK": partition(prefix, start),
                "SK": f"{prefix}{start.isoformat()}#sample_type={t}|project={p}",
                "entity": "report_counter",
                "period": start.isoformat(),
                "dims": {"sample_type": t, "project": p},
                "v_count": c,
            }
        )
    status_pk = f"LAB#{lab}#REPORT#status"
    for status, share in (("in_storage", 0.6), ("completed", 0.3), ("pending", 0.1)):
        batch.put_item(
            Item={
                "PK": status_pk,
                "SK": f"total#status={status}",
                "entity": "report_counter",
                "dims": {"status": status},
                "v_count": int(n * share),
            }
        )
print(f"{len(items)} received counters ({len(counts)} day items) for {n} samples")
