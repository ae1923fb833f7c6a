"""Writing many items into a local table fast: batches of 25 from four threads, retrying
what DynamoDB leaves unprocessed. Shared by the benchmark seeders."""
import threading
import time

import boto3


def write_items(endpoint, table, n, item):
    """Writes `item(i)` for i in 0..n; returns the seconds it took."""

    def writer(start, stop):
        ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        for base in range(start, stop, 25):
            batch = [{"PutRequest": {"Item": item(i)}} for i in range(base, min(base + 25, stop))]
            req = {table: batch}
            while req:
                req = ddb.batch_write_item(RequestItems=req).get("UnprocessedItems") or None

    started = time.time()
    step = -(-n // 4)
    threads = [threading.Thread(target=writer, args=(t * step, min(n, (t + 1) * step))) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.time() - started
