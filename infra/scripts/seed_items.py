"""Write N sample-shaped items (about 600 bytes each, with both GSI keys) into a table,
for the backup benchmark. Uses boto3 from the project venv (moto depends on it).

usage: seed_items.py ENDPOINT TABLE N
"""
import sys

from seeding import write_items

endpoint, table, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
LAB = "01JBENCHLAB000000000000000"


def item(i):
    sid = f"01JBENCH{i:018d}"
    created = f"2026-11-{1 + i % 27:02d}T{i % 24:02d}:{i % 60:02d}:{(i // 60) % 60:02d}.000000Z"
    return {
        "PK": {"S": f"LAB#{LAB}#SAMPLE#{sid}"},
        "SK": {"S": "SAMPLE"},
        "entity": {"S": "sample"},
        "GSI1PK": {"S": f"LAB#{LAB}#SAMPLES#in_storage"},
        "GSI1SK": {"S": f"{created}#{sid}"},
        "GSI2PK": {"S": f"LAB#{LAB}#SAMPLES#2026-11"},
        "GSI2SK": {"S": f"{created}#{sid}"},
        "id": {"S": sid},
        "lab_id": {"S": LAB},
        "barcode": {"S": f"TS-2026-{i:06d}"},
        "sample_type": {"S": ["DNA", "RNA", "Blood", "Tissue"][i % 4]},
        "status": {"S": "in_storage"},
        "volume_ul": {"N": str(50 + i % 450)},
        "concentration_ng_ul": {"N": f"{(i % 1000) / 10:.1f}"},
        "project": {"S": f"PRJ-{i % 40:03d}"},
        "submitter": {"S": "Bench Submitter"},
        "created_at": {"S": created},
        "updated_at": {"S": created},
        "version": {"N": str(1 + i % 5)},
        "tags": {"SS": ["bench", f"batch-{i % 100}"]},
        "custom": {"M": {"tube": {"S": "Matrix 1.0 ml"}, "qc_passed": {"BOOL": i % 7 != 0}}},
    }


secs = write_items(endpoint, table, n, item)
print(f"seeded {n} items in {secs:.1f} s")
