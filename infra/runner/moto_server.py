"""moto's server, with DynamoDB operations serialized.

moto 5.2.5 makes a transaction atomic by deep-copying every table it touches and
restoring that copy when any action fails. Under concurrent requests, a failing
transaction's restore erases what other requests committed meanwhile. Seen here: 20
writers racing for one guard item, one winner, and the winner's record gone. DynamoDB's
transactions are serializable, so the local stack serializes DynamoDB calls behind one
lock. moto holds the GIL for this work anyway, so throughput hardly changes.

The runner passes this file to the venv's python with `-c`, followed by moto_server's
own arguments.
"""
import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_LOCK = threading.RLock()

_OPERATIONS = [
    "get_item", "put_item", "update_item", "delete_item", "query", "scan",
    "batch_get_item", "batch_write_item", "transact_get_items", "transact_write_items",
]


def _serialized(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return fn(*args, **kwargs)

    return wrapper


for _name in _OPERATIONS:
    if hasattr(DynamoDBBackend, _name):
        setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))

sys.exit(main(sys.argv[1:]))
