"""moto's server, with DynamoDB operations serialized.

moto 5.2.5 makes a transaction atomic by deep-copying every table it touches and
restoring that copy when any action fails. Under concurrent requests, a failing
transaction's restore erases what other requests committed meanwhile. Seen here: 20
writers racing for one guard item, one winner, and the winner's record gone. DynamoDB's
transactions are serializable, so the local stack serializes DynamoDB calls behind one
lock. moto holds the GIL for this work anyway, so throughput hardly changes.

It also replaces that whole-table copy with an undo log of the items a transaction
touches. The copy made every transaction cost O(table size) per action (a 76-action
transaction copied the table 76 times), so a 10,000-row import slowed quadratically
and grew moto past 24 GB until the kernel killed it. With calls serialized, restoring
the touched items (and trimming the stream records the failed attempt added) is the same
rollback at the cost of the transaction itself.

Reads: moto answers every Query on an index by sorting the whole table (`all_items`)
and testing each item, about a second per query at 75,000 items, whatever the page
size. Both are cached here per write generation: any write through the backend bumps
the generation; a query on an index then reads only the items of its partition, in an
order cached for the generation, and a query on the table reads only its partition. And
moto serializes responses by walking botocore's shape model, about 2 ms per item: a
1,000-item page took 2.5 s. Item reads (already in wire form) are written with
json.dumps instead, which gives the same body (checked against moto's serializer).
Query results are no longer deep-copied (moto's projections build new items and nothing
mutates a result; calls are serialized), and item sizes (for the 1 MB page limit) are
cached per write generation.

The runner passes this file to the venv's python with `-c`, followed by moto_server's
own arguments.
"""
import base64
import copy
import functools
import json
import sys
import threading
import uuid

import moto.dynamodb.models as dynamodb_models
import moto.dynamodb.models.table as table_module
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.core import responses as core_responses
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

class _NoTableCopy:
    """`copy` for moto's DynamoDB module: tables are not copied (the undo log restores)."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


dynamodb_models.copy = _NoTableCopy()
_original_transact = DynamoDBBackend.transact_write_items


def _item_key(table, op):
    attrs = op.get("Item") or op.get("Key") or {}
    hash_key = DynamoType(attrs[table.hash_key_attr])
    range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    return hash_key, range_key


def _restore(table, hash_key, range_key, old):
    if range_key is not None:
        if old is None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items[hash_key][range_key] = old
    elif old is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = old


def _transact_write_items(self, transact_items):
    undo = []
    streams = {}
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            hash_key, range_key = _item_key(table, op)
        except (KeyError, StopIteration, AttributeError, TypeError):
            continue  # moto's own validation reports the malformed action
        old = table.get_item(hash_key, range_key) if (range_key is not None or not table.range_key_attr) else None
        undo.append((table, hash_key, range_key, copy.deepcopy(old)))
        if table.stream_shard is not None:
            streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
    try:
        return _original_transact(self, transact_items)
    except Exception:
        for table, hash_key, range_key, old in reversed(undo):
            _restore(table, hash_key, range_key, old)
        for shard, length in streams.values():
            del shard.items[length:]
        raise


DynamoDBBackend.transact_write_items = _serialized(_transact_write_items)

# Write generation: every backend write bumps it; caches below are valid for one generation.
_GENERATION = [0]
_WRITES = ["put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items",
           "create_table", "delete_table", "update_table"]


def _bumping(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _LOCK:
            _GENERATION[0] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                _GENERATION[0] += 1

    return wrapper


for _name in _WRITES:
    if hasattr(DynamoDBBackend, _name):
        setattr(DynamoDBBackend, _name, _bumping(getattr(DynamoDBBackend, _name)))

_original_all_items = Table.all_items
_original_query = Table.query
_original_sorted_items = Table.sorted_items


def _generation(table):
    return (_GENERATION[0], id(table.items))


def _all_items(self):
    cached = getattr(self, "_tracseq_all", None)
    if cached is None or cached[0] != _generation(self):
        cached = (_generation(self), _original_all_items(self))
        self._tracseq_all = cached
        self._tracseq_groups = {}
        self._tracseq_orders = {}
    return list(cached[1])


def _query(self, *args, **kwargs):
    conditions = kwargs.get("hash_key_conditions") or []
    # The backend passes index_name positionally (8th), tests may pass it by name.
    index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
    if not index_name:
        hash_key = args[0] if args else kwargs.get("hash_key")
        if hash_key is None or not self.range_key_attr:
            return _original_query(self, *args, **kwargs)
        # A table query reads one partition: hand moto that partition, not the table.
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: list(partition)
        try:
            return _original_query(self, *args, **kwargs)
        finally:
            del self.all_items
    if len(conditions) != 1:
        return _original_query(self, *args, **kwargs)
    attr, value = conditions[0]
    items = _all_items(self)
    groups = self._tracseq_groups.get(attr)
    if groups is None:
        groups = {}
        for item in items:
            v = item.attrs.get(attr)
            if v is not None:
                groups.setdefault(v, []).append(item)
        self._tracseq_groups[attr] = groups
    candidates = groups.get(value, [])
    # moto's query scans `self.all_items()`: hand it this partition only. It then sorts
    # the partition; within one generation the same partition sorts the same way, so the
    # order is kept, and a page of 50 no longer costs a sort of the whole partition.
    key = (index_name, attr, value)
    orders = self._tracseq_orders
    self.all_items = lambda: list(candidates)

    def sorted_items(hash_attrs, range_attrs, found):
        if key not in orders:
            orders[key] = _original_sorted_items(self, hash_attrs, range_attrs, found)
        return list(orders[key])

    self.sorted_items = sorted_items
    try:
        return _original_query(self, *args, **kwargs)
    finally:
        del self.all_items
        del self.sorted_items


Table.all_items = _all_items
Table.query = _query

_FAST_READS = {"Query", "Scan", "GetItem", "BatchGetItem"}
_original_execute = core_responses.ActionResult.execute_result


def _blob(value):
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(type(value).__name__)


def _execute_result(self, context):
    if (
        context.service_model.service_name == "dynamodb"
        and context.operation_model.name in _FAST_READS
        and isinstance(self.result, dict)
    ):
        try:
            body = json.dumps(self.result, default=_blob)
        except (TypeError, ValueError):
            return _original_execute(self, context)
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-requestid": uuid.uuid4().hex}
        return 200, headers, body
    return _original_execute(self, context)


core_responses.ActionResult.execute_result = _execute_result


class _ShallowResults:
    """`copy` for moto's table module: a list of result items is copied shallowly."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if type(value) is list and all(isinstance(v, Item) for v in value):
            return list(value)
        return copy.deepcopy(value, memo)


table_module.copy = _ShallowResults()
_original_size = Item.size


def _size(self):
    cached = getattr(self, "_tracseq_size", None)
    if cached is not None and cached[0] == _GENERATION[0]:
        return cached[1]
    size = _original_size(self)
    self._tracseq_size = (_GENERATION[0], size)
    return size


Item.size = _size

sys.exit(main(sys.argv[1:]))
