"""SQLite's own limit for orderdesk's create-order path: the statements the server sends without
an Idempotency-Key (customer read; BEGIN; order row; SMS outbox row; COMMIT) in a loop on the
server's database file, with the server's connection settings (WAL, synchronous=NORMAL,
foreign keys, busy timeout). One writer: SQLite serialises writers, so more connections only
add lock waits. Usage: sqlite_limit.py DB_FILE CUSTOMER_ID SECONDS; prints "tps = N"."""

import datetime
import sqlite3
import sys
import time
import uuid

db_file, customer, seconds = sys.argv[1], uuid.UUID(sys.argv[2]), float(sys.argv[3])

db = sqlite3.connect(db_file, isolation_level=None)
for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "busy_timeout = 5000"):
    db.execute(f"PRAGMA {pragma}")

SELECT_CUSTOMER = (
    'SELECT "id", "name", "code", "code_key", "phone", "created_at", "updated_at", "created_by", '
    '"updated_by", "version" FROM "customers" WHERE "id" = ? LIMIT 1'
)
INSERT_ORDER = (
    'INSERT INTO "orders" ("id", "customer_id", "item", "amount_minor", "currency", "ordered_at", '
    '"created_at", "updated_at", "created_by", "updated_by", "version") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
)
INSERT_NOTIFICATION = (
    'INSERT INTO "notifications" ("id", "order_id", "recipient", "message", "status", "attempts", '
    '"timed_out", "next_attempt_at", "lease_owner", "lease_until", "provider_message_id", "provider_status", '
    '"cost", "delivery_status", "delivery_failure_reason", "last_error", "created_at", "updated_at", '
    '"sent_at", "version") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
)

# Values stored as the server stores them: UUIDs as 16-byte blobs, times as RFC 3339 text.
done = 0
started = time.monotonic()
deadline = started + seconds
while time.monotonic() < deadline:
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    row = db.execute(SELECT_CUSTOMER, (customer.bytes,)).fetchone()
    if row is None:
        sys.exit(f"customer {customer} not found")
    order_id = uuid.uuid4().bytes
    db.execute("BEGIN")
    db.execute(INSERT_ORDER, (order_id, customer.bytes, f"Bench item {done}", 25050, "KES", now, now, now,
                              "bench", "bench", 0))
    db.execute(INSERT_NOTIFICATION, (uuid.uuid4().bytes, order_id, row[4], "Thank you for your order.",
                                     "pending", 0, False, now, None, None, None, None, None, None, None, None,
                                     now, now, None, 0))
    db.execute("COMMIT")
    done += 1
print(f"tps = {done / (time.monotonic() - started):.1f}")
