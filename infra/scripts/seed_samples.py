"""Write N samples of one lab straight into the table, shaped exactly as the samples
service stores them (every key, every field a sample has), created this month, for the
export benchmark. Uses boto3 from the project venv (moto depends on it).

usage: seed_samples.py ENDPOINT TABLE LAB N
"""
import sys
from datetime import datetime, timezone

from seeding import write_items

endpoint, table, lab, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
now = datetime.now(timezone.utc)
MONTH = now.strftime("%Y-%m")
TYPES = ["DNA", "RNA", "Blood", "Tissue"]


def item(i):
    sid = f"01JEXPORT{i:017d}"
    # Spread over the days of this month so far, oldest first.
    day = 1 + i % now.day
    created = f"{MONTH}-{day:02d}T{i % 24:02d}:{i % 60:02d}:{(i // 60) % 60:02d}.000000Z"
    name = f"Patient {i} blood, \"tube\" {i % 96}"
    return {
        "PK": {"S": f"LAB#{lab}#SAMPLE#{sid}"},
        "SK": {"S": "SAMPLE"},
        "entity": {"S": "sample"},
        "GSI1PK": {"S": f"LAB#{lab}#SAMPLES#validated"},
        "GSI1SK": {"S": f"{created}#{sid}"},
        "GSI2PK": {"S": f"LAB#{lab}#SAMPLES#{MONTH}"},
        "GSI2SK": {"S": f"{created}#{sid}"},
        "name_lc": {"S": name.lower()},
        "id": {"S": sid},
        "barcode": {"S": f"TS-EXP-{i:06d}"},
        "name": {"S": name},
        "sample_type": {"S": TYPES[i % 4]},
        "status": {"S": "validated"},
        "priority": {"S": "normal"},
        "project": {"S": f"PRJ-{i % 40:03d}"},
        "submitter": {"S": "Bench Submitter"},
        "collection_date": {"S": f"{MONTH}-01"},
        "organism": {"S": "Homo sapiens"},
        "volume": {"N": str(50 + i % 450)},
        "volume_unit": {"S": "µL"},
        "concentration": {"N": f"{(i % 1000) / 10:.1f}"},
        "concentration_unit": {"S": "ng/µL"},
        "version": {"N": "1"},
        "created_at": {"S": created},
        "created_by": {"S": "bench"},
        "updated_at": {"S": created},
        "updated_by": {"S": "bench"},
    }


secs = write_items(endpoint, table, n, item)
print(f"seeded {n} samples in {secs:.1f} s")
