"""SQLite's own limit for orderdesk's create-order path: the statements the server sends without
an Idempotency-Key (the order number drawn from its counter; the customer read; BEGIN IMMEDIATE;
order row; history row; SMS outbox row; `order.created` event; COMMIT) in a loop on the server's
database file, with the server's connection settings (WAL, synchronous=NORMAL,
foreign keys, busy timeout). One writer: SQLite serialises writers, so more connections only
add lock waits. Usage: sqlite_limit.py DB_FILE CUSTOMER_ID SECONDS; prints "tps = N"."""

import datetime
import json
import sqlite3
import sys
import time
import uuid

db_file, customer, seconds = sys.argv[1], uuid.UUID(sys.argv[2]), float(sys.argv[3])

db = sqlite3.connect(db_file, isolation_level=None)
for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "busy_timeout = 5000"):
    db.execute(f"PRAGMA {pragma}")

NEXT_NUMBER = (
    "UPDATE order_number_counter SET last_number = last_number + 1 WHERE id = 1 RETURNING last_number AS number"
)
SELECT_CUSTOMER = (
    'SELECT "id", "name", "code", "code_key", "phone", "created_at", "updated_at", "created_by", '
    '"updated_by", "version", "language", "sms_opt_out" FROM "customers" WHERE "id" = ? LIMIT ?'
)
INSERT_ORDER = (
    'INSERT INTO "orders" ("id", "customer_id", "item", "amount_minor", "currency", "ordered_at", "created_at", '
    '"updated_at", "created_by", "updated_by", "version", "number", "reference", "status", "status_changed_at", '
    '"cancel_reason", "cancel_note") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
)
INSERT_HISTORY = (
    'INSERT INTO "order_status_changes" ("order_id", "version", "status", "changed_at", "changed_by", "note", '
    '"cancel_reason") VALUES (?, ?, ?, ?, ?, ?, ?)'
)
INSERT_NOTIFICATION = (
    'INSERT INTO "notifications" ("id", "order_id", "event", "language", "skip_reason", "recipient", "message", '
    '"status", "attempts", "timed_out", "next_attempt_at", "retry_since", "lease_owner", "lease_until", '
    '"provider_message_id", "provider_status", "delivery_status", "delivery_failure_reason", "last_error", '
    '"created_at", "updated_at", "sent_at", "version") '
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_EVENT = (
    'INSERT INTO "events" ("id", "type", "object_id", "object", "created_at", "routed") VALUES (?, ?, ?, ?, ?, ?)'
)

# Values stored as the server stores them: UUIDs as 16-byte blobs, times as RFC 3339 text.
done = 0
started = time.monotonic()
deadline = started + seconds
while time.monotonic() < deadline:
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    number = db.execute(NEXT_NUMBER).fetchone()[0]
    row = db.execute(SELECT_CUSTOMER, (customer.bytes, 1)).fetchone()
    if row is None:
        sys.exit(f"customer {customer} not found")
    order_id = uuid.uuid4().bytes
    reference = f"ORD-{number}"
    db.execute("BEGIN IMMEDIATE")
    db.execute(INSERT_ORDER, (order_id, customer.bytes, f"Bench item {done}", 25050, "KES", now, now, now,
                              "bench", "bench", 0, number, reference, "received", now, None, None))
    db.execute(INSERT_HISTORY, (order_id, 0, "received", now, "bench", None, None))
    db.execute(INSERT_NOTIFICATION, (uuid.uuid4().bytes, order_id, "order.created", "en", None, row[4],
                                     f"Order {reference}: Bench item, KES 250.50. Thank you!", "pending", 0,
                                     False, now, now, None, None, None, None, None, None, None, now, now, None, 0))
    event = json.dumps({"id": str(uuid.UUID(bytes=order_id)), "number": number, "reference": reference,
                        "item": f"Bench item {done}", "amount_minor": 25050, "currency": "KES",
                        "status": "received", "created_at": now, "updated_at": now, "version": 0})
    db.execute(INSERT_EVENT, (uuid.uuid4().bytes, "order.created", order_id, event, now, False))
    db.execute("COMMIT")
    done += 1
print(f"tps = {done / (time.monotonic() - started):.1f}")
