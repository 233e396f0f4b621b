// The orderdesk life cycle through a TypeScript client: types generated from docs/openapi.json
// by openapi-typescript, calls made with openapi-fetch. `cargo xtask clients` runs it against a
// real server: ORDERDESK_BASE_URL (e.g. http://127.0.0.1:8080) and ORDERDESK_TOKEN (a bearer token).
// tsc checks every call and field against the generated types before it runs.

import createClient from "openapi-fetch";
import type { components, paths } from "./generated/orderdesk.js";

type Problem = components["schemas"]["Problem"];
type Order = components["schemas"]["Order"];
type Notification = components["schemas"]["Notification"];
type CustomerImport = components["schemas"]["CustomerImport"];
type Event = components["schemas"]["Event"];

// Node's globals without @types/node: only what this script reads.
declare const process: { env: Record<string, string | undefined>; exitCode?: number };

function check(condition: boolean, what: string, detail?: unknown): asserts condition {
  if (!condition) {
    throw new Error(`${what}${detail === undefined ? "" : `: ${JSON.stringify(detail)}`}`);
  }
}

/** The problem of a failed call, checked to be problem+json with the expected status and type. */
function expectProblem(
  result: { error?: unknown; response: Response },
  status: number,
  type: string,
): Problem {
  check(result.response.status === status, `expected ${status}, got ${result.response.status}`, result.error);
  const contentType = result.response.headers.get("content-type") ?? "";
  check(contentType.startsWith("application/problem+json"), "a problem+json body", contentType);
  const problem = result.error as Problem;
  check(problem.type === type && problem.status === status, `problem type ${type}`, problem);
  return problem;
}

// Hour `hour` (9 to 13) of a window that starts 20 hours ago: recent enough that every order is
// texted (sms.max_order_age_hours, 24), at known times for the filters.
const start = Math.floor((Date.now() - 20 * 3600e3) / 3600e3) * 3600e3;
const at = (hour: number) => new Date(start + (hour - 9) * 3600e3).toISOString();
const sameInstant = (a: string, b: string) => Date.parse(a) === Date.parse(b);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const baseUrl = process.env.ORDERDESK_BASE_URL;
  const token = process.env.ORDERDESK_TOKEN;
  check(!!baseUrl && !!token, "ORDERDESK_BASE_URL and ORDERDESK_TOKEN must be set");
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
  const run = Date.now().toString(36);
  let steps = 0;
  const step = (what: string) => {
    steps += 1;
    console.log(`ok ${steps} - ${what}`);
  };

  const ready = await client.GET("/readyz");
  check(ready.data?.status === "ok", "readyz", ready.error);
  step("readiness");

  const created = await client.POST("/api/v1/customers", {
    body: { name: "Amina Wanjiru", code: `TS-${run}`, phone: "0712 345 678" },
  });
  check(created.response.status === 201 && !!created.data, "customer created", created.error);
  const customer = created.data;
  check(customer.phone === "+254712345678", "phone in E.164", customer);
  const other = await client.POST("/api/v1/customers", {
    body: { name: "Baraka Otieno", code: `TT-${run}`, phone: "0733 000 111" },
  });
  check(!!other.data, "second customer created", other.error);
  step("create customers");

  // Lookups: the phone as written locally, the code ignoring case, part of a name or code, and
  // changed since a time; filters combine. Other runs may share the number and the name.
  const byPhone = await client.GET("/api/v1/customers", { params: { query: { phone: "0712345678" } } });
  check(!!byPhone.data, "lookup by phone", byPhone.error);
  check(byPhone.data.items.some((c) => c.id === customer.id), "found by the local number", byPhone.data);
  check(byPhone.data.items.every((c) => c.phone === "+254712345678"), "only that number", byPhone.data);
  const notAPhone = await client.GET("/api/v1/customers", { params: { query: { phone: "call me" } } });
  const phoneProblem = expectProblem(notAPhone, 422, "/problems/validation-error");
  check(!!phoneProblem.errors?.some((e) => e.field === "phone"), "the phone is named", phoneProblem);
  const byCode = await client.GET("/api/v1/customers", { params: { query: { code: customer.code.toLowerCase() } } });
  check(JSON.stringify(byCode.data?.items) === JSON.stringify([customer]), "found by code, any case", byCode.data ?? byCode.error);
  const byName = await client.GET("/api/v1/customers", { params: { query: { q: "wanjiru" } } });
  check(!!byName.data?.items.some((c) => c.id === customer.id), "found by part of the name", byName.data ?? byName.error);
  const ours = await client.GET("/api/v1/customers", { params: { query: { q: run } } });
  const oursIds = ours.data?.items.map((c) => c.id);
  check(JSON.stringify(oursIds) === JSON.stringify([other.data.id, customer.id]), "part of the codes, newest first", ours.data ?? ours.error);
  const since = await client.GET("/api/v1/customers", {
    params: { query: { q: run, updated_since: other.data.updated_at } },
  });
  const expectedSince = [other.data, customer].filter((c) => Date.parse(c.updated_at) >= Date.parse(other.data.updated_at)).map((c) => c.id);
  check(JSON.stringify(since.data?.items.map((c) => c.id)) === JSON.stringify(expectedSince), "changed since", since.data ?? since.error);
  const later = new Date(Date.now() + 3600e3).toISOString();
  const none = await client.GET("/api/v1/customers", { params: { query: { q: run, updated_since: later } } });
  check(none.data?.items.length === 0, "nothing changed after now", none.data ?? none.error);
  step("look customers up by phone, code, q and updated_since");

  const orders: Order[] = [];
  for (const [hour, amount] of [[9, "250.50"], [11, "100.00"], [13, "75.25"]] as const) {
    const { data, error } = await client.POST("/api/v1/orders", {
      body: { customer_id: customer.id, item: "Maize flour 2kg", amount, ordered_at: at(hour) },
    });
    check(!!data, "order created", error);
    check(data.amount === amount && data.currency === "KES", "amount kept exactly as a string", data);
    check(sameInstant(data.ordered_at, at(hour)), "ordered_at kept", data);
    orders.push(data);
  }
  const otherOrder = await client.POST("/api/v1/orders", {
    body: { customer_id: other.data.id, item: "Sugar 1kg", amount: "120.00", ordered_at: at(11) },
  });
  check(!!otherOrder.data, "other customer's order created", otherOrder.error);
  step("create orders");

  const filtered = await client.GET("/api/v1/orders", {
    params: { query: { customer_id: customer.id, ordered_from: at(10), ordered_to: at(13) } },
  });
  check(!!filtered.data, "filtered list", filtered.error);
  const filteredIds = filtered.data.items.map((o) => o.id);
  check(filteredIds.length === 1 && filteredIds[0] === orders[1].id, "[10:00, 13:00) holds the 11:00 order", filteredIds);
  check(filtered.data.next_cursor == null, "one page only", filtered.data);
  step("list with customer_id and time range");

  const first = await client.GET("/api/v1/orders", { params: { query: { customer_id: customer.id, limit: 2 } } });
  check(first.data?.items.length === 2 && !!first.data.next_cursor, "a full first page with next_cursor", first.data);
  const second = await client.GET("/api/v1/orders", {
    params: { query: { customer_id: customer.id, limit: 2, cursor: first.data.next_cursor } },
  });
  check(second.data?.items.length === 1 && second.data.next_cursor == null, "a last page without next_cursor", second.data);
  const paged = [...first.data.items, ...second.data.items].map((o) => o.id).sort();
  check(JSON.stringify(paged) === JSON.stringify(orders.map((o) => o.id).sort()), "pages cover each order once", paged);
  step("cursor paging");

  const id = orders[0].id;
  const got = await client.GET("/api/v1/orders/{id}", { params: { path: { id } } });
  check(got.data?.id === id, "get order", got.error);
  const oldEtag = got.response.headers.get("etag");
  check(!!oldEtag, "an ETag on GET");
  step("get");

  const expanded = await client.GET("/api/v1/orders/{id}", { params: { path: { id }, query: { expand: "customer" } } });
  const read = await client.GET("/api/v1/customers/{id}", { params: { path: { id: customer.id } } });
  check(!!expanded.data?.customer && JSON.stringify(expanded.data.customer) === JSON.stringify(read.data), "the customer embedded as getCustomer returns it", expanded.data ?? expanded.error);
  check(expanded.response.headers.get("etag") === oldEtag, "the ETag stays the order's", expanded.response.headers.get("etag"));
  const { customer: _embedded, ...withoutCustomer } = expanded.data;
  check(JSON.stringify(withoutCustomer) === JSON.stringify(got.data), "the order itself unchanged", withoutCustomer);
  step("get with expand=customer");

  const patched = await client.PATCH("/api/v1/orders/{id}", { params: { path: { id } }, body: { amount: "300.00" } });
  check(patched.data?.amount === "300.00", "patch without If-Match", patched.error);
  const newEtag = patched.response.headers.get("etag");
  check(!!newEtag && newEtag !== oldEtag, "a new ETag after the change", newEtag);
  const stale = await client.PATCH("/api/v1/orders/{id}", {
    params: { path: { id }, header: { "If-Match": oldEtag } },
    body: { item: "Maize flour 5kg" },
  });
  expectProblem(stale, 412, "/problems/precondition-failed");
  const current = await client.PATCH("/api/v1/orders/{id}", {
    params: { path: { id }, header: { "If-Match": newEtag } },
    body: { item: "Maize flour 5kg" },
  });
  check(current.data?.item === "Maize flour 5kg" && current.data.amount === "300.00", "patch with If-Match", current.error);
  step("patch without and with If-Match");

  let notification: Notification | undefined;
  for (let i = 0; i < 300; i += 1) {
    const list = await client.GET("/api/v1/orders/{id}/notifications", { params: { path: { id } } });
    check(list.data?.items.length === 1, "one SMS per order", list.data ?? list.error);
    notification = list.data.items[0];
    if (notification.status !== "pending" && notification.status !== "sending") break;
    await sleep(100);
  }
  check(!!notification && notification.order_id === id, "the order's notification", notification);
  check(notification.status !== "pending" && notification.status !== "sending", "the SMS settled", notification);
  step(`notifications list (SMS ${notification.status})`);

  const retried = await client.POST("/api/v1/orders/{id}/notifications/{nid}/retry", {
    params: { path: { id, nid: notification.id } },
  });
  if (notification.status === "failed" || notification.status === "undelivered") {
    check(retried.data?.id === notification.id, "retry accepted", retried.error);
  } else {
    expectProblem(retried, 409, "/problems/notification-not-retryable");
  }
  step("notification retry");

  const invalid = await client.POST("/api/v1/orders", {
    body: { customer_id: customer.id, item: "Maize flour 2kg", amount: "12.345" },
  });
  const problem = expectProblem(invalid, 422, "/problems/validation-error");
  check(!!problem.errors?.some((e) => e.field === "amount"), "the invalid field is named", problem);
  step("validation problem (422)");

  const walked = orders[1];
  check(walked.status === "received" && walked.reference === `ORD-${walked.number}`, "a new order is received", walked);
  for (const status of ["confirmed", "ready", "out_for_delivery", "completed"]) {
    const moved = await client.POST("/api/v1/orders/{id}/status", {
      params: { path: { id: walked.id } },
      body: { status, note: `now ${status}` },
    });
    check(moved.data?.status === status, `move to ${status}`, moved.error);
  }
  const history = await client.GET("/api/v1/orders/{id}/history", { params: { path: { id: walked.id } } });
  const walkedSteps = history.data?.items.map((e) => e.status).join(",");
  check(walkedSteps === "received,confirmed,ready,out_for_delivery,completed", "history oldest first", history.data ?? history.error);
  const backwards = await client.POST("/api/v1/orders/{id}/status", {
    params: { path: { id: walked.id } },
    body: { status: "ready" },
  });
  expectProblem(backwards, 409, "/problems/invalid-status-transition");
  step("an order from received to completed, with its history");

  const dropped = orders[2];
  const cancelled = await client.POST("/api/v1/orders/{id}/status", {
    params: { path: { id: dropped.id } },
    body: { status: "cancelled", cancel_reason: "customer_request" },
  });
  check(cancelled.data?.status === "cancelled" && cancelled.data.cancel_reason === "customer_request", "cancel", cancelled.error);
  const kept = await client.DELETE("/api/v1/orders/{id}", { params: { path: { id: dropped.id } } });
  expectProblem(kept, 409, "/problems/order-has-history");
  const byNumber = await client.GET("/api/v1/orders", { params: { query: { number: dropped.number, status: "cancelled" } } });
  check(byNumber.data?.items.length === 1 && byNumber.data.items[0].id === dropped.id, "find by number and status", byNumber.data);
  step("another order cancelled, kept with its history");

  const mistake = await client.POST("/api/v1/orders", {
    body: { customer_id: customer.id, item: "Typo", amount: "1.00", notify: false },
  });
  check(mistake.response.status === 201 && !!mistake.data, "a mistaken order", mistake.error);
  const removed = mistake.data.id;
  const deleted = await client.DELETE("/api/v1/orders/{id}", { params: { path: { id: removed } } });
  check(deleted.response.status === 204, "delete", deleted.error);
  const missing = await client.GET("/api/v1/orders/{id}", { params: { path: { id: removed } } });
  expectProblem(missing, 404, "/problems/not-found");
  step("delete a mistake, then a typed 404");

  // As bytes: text() would drop the byte-order mark that tells spreadsheets the file is UTF-8.
  const exported = await client.GET("/api/v1/orders/export.csv", {
    params: { query: { ordered_from: at(9), ordered_to: at(14) } },
    parseAs: "arrayBuffer",
  });
  check(exported.response.status === 200 && exported.data instanceof ArrayBuffer, "export", exported.error);
  check(exported.response.headers.get("content-type") === "text/csv; charset=utf-8", "text/csv", exported.response.headers.get("content-type"));
  const bytes = new Uint8Array(exported.data);
  check(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf, "a byte-order mark for spreadsheets", Array.from(bytes.slice(0, 3)));
  const lines = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes.slice(3)).split("\r\n");
  check(lines[0] === "reference,date,time,customer_code,customer_name,customer_phone,item,amount,currency,status,sms_status", "the header", lines[0]);
  const mine = lines.filter((l) => l.includes(`,${customer.code},`)).map((l) => l.split(",")).map((c) => [c[0], c[5], c[6], c[7], c[9]].join(","));
  const expectedRows = [
    `${orders[2].reference},'+254712345678,Maize flour 2kg,75.25,cancelled`,
    `${orders[1].reference},'+254712345678,Maize flour 2kg,100.00,completed`,
    `${orders[0].reference},'+254712345678,Maize flour 5kg,300.00,received`,
  ];
  check(JSON.stringify(mine) === JSON.stringify(expectedRows), "the customer's orders as they are now, newest first, phone neutralised", mine);
  step("CSV export");

  const newCode = `TI-${run}`;
  const file = `code,name,phone\r\n${customer.code.toLowerCase()},Amina Wanjiru,0712 345 678\r\n${newCode},"Imported, Customer",+254 733 000 222\r\n`;
  const importCsv = (dryRun: boolean) =>
    client.POST("/api/v1/customers/import", {
      params: { query: dryRun ? { dry_run: true } : {} },
      body: file,
      bodySerializer: (body: string) => body,
      headers: { "Content-Type": "text/csv" },
    });
  const before = (await client.GET("/api/v1/customers/{id}", { params: { path: { id: customer.id } } })).response.headers.get("etag");
  const counts = (r: CustomerImport | undefined) => r && [r.dry_run, r.created, r.updated, r.unchanged].join(",");
  const dry = await importCsv(true);
  check(!!dry.data, "a dry run", dry.error);
  check(counts(dry.data) === "true,1,0,1", "a dry run reports", dry.data);
  check(dry.data.rows.map((r) => `${r.row}:${r.action}`).join(" ") === "2:unchanged 3:created", "per row", dry.data.rows);
  const notYet = await client.GET("/api/v1/customers", { params: { query: { code: newCode } } });
  check(notYet.data?.items.length === 0, "a dry run writes nothing", notYet.data ?? notYet.error);
  const firstImport = await importCsv(false);
  check(!!firstImport.data, "the import", firstImport.error);
  check(counts(firstImport.data) === "false,1,0,1", "the import reports", firstImport.data);
  check(firstImport.data.rows[0].code === customer.code, "the stored spelling of the code is kept", firstImport.data.rows);
  const imported = await client.GET("/api/v1/customers", { params: { query: { code: newCode } } });
  const importedCustomer = imported.data?.items[0];
  check(importedCustomer?.name === "Imported, Customer" && importedCustomer.phone === "+254733000222", "imported", imported.data ?? imported.error);
  const again = await importCsv(false);
  check(counts(again.data) === "false,0,0,2", "the second run changes nothing", again.data ?? again.error);
  const after = (await client.GET("/api/v1/customers/{id}", { params: { path: { id: customer.id } } })).response.headers.get("etag");
  check(!!before && after === before, "no ETag moved", [before, after]);
  step("CSV import: dry run, import, the same again changes nothing");

  // The event feed, paged with `after`: this run's order changes, oldest first, and the
  // mistaken order's deletion carrying the order as it was (events show a second after).
  const feed = async (types: string): Promise<Event[]> => {
    const events: Event[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await client.GET("/api/v1/events", { params: { query: { type: types, limit: 50, after } } });
      check(!!page.data, "a page of the feed", page.error);
      events.push(...page.data.items);
      after = page.data.next_cursor;
      if (!page.data.has_more) return events;
    }
  };
  const objectId = (event: Event) => (event.data.object as { id: string }).id;
  let events: Event[] = [];
  for (let tries = 0; tries < 100; tries++) {
    events = await feed("order.*");
    if (events.some((e) => e.type === "order.deleted" && objectId(e) === removed)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const orderEvents = events.filter((e) => objectId(e) === id).map((e) => e.type);
  check(orderEvents[0] === "order.created" && orderEvents.includes("order.updated"), "the order's events, oldest first", orderEvents);
  const walkedEvents = events.filter((e) => objectId(e) === walked.id).map((e) => e.type);
  check(walkedEvents.filter((t) => t === "order.status_changed").length === 4, "one event per status change", walkedEvents);
  const deletion = events.find((e) => e.type === "order.deleted" && objectId(e) === removed);
  check((deletion?.data.object as Order | undefined)?.item === "Typo", "the deleted order as it was", deletion);
  expectProblem(
    await client.GET("/api/v1/events", { params: { query: { type: "order.shipped" } } }),
    422,
    "/problems/validation-error",
  );
  step("event feed: by type, paged with after");

  // Webhook endpoints: the secret only on create and rotate; a test delivery to a port nobody
  // listens on fails and is listed; enable, delete, then 404.
  const hook = await client.POST("/api/v1/webhook-endpoints", {
    body: { url: "http://127.0.0.1:9/orderdesk", events: ["order.*"], description: `ts life cycle ${run}` },
  });
  check(hook.response.status === 201 && !!hook.data && hook.data.secret.startsWith("whsec_"), "a webhook endpoint", hook.error);
  const hookId = hook.data.id;
  const hookPath = { params: { path: { id: hookId } } };
  const hookRead = await client.GET("/api/v1/webhook-endpoints/{id}", hookPath);
  check(hookRead.data?.status === "enabled" && !("secret" in hookRead.data), "read without its secret", hookRead.data ?? hookRead.error);
  const hooks = await client.GET("/api/v1/webhook-endpoints");
  check(!!hooks.data?.items.some((h) => h.id === hookId), "listed", hooks.data ?? hooks.error);
  const rotated = await client.POST("/api/v1/webhook-endpoints/{id}/rotate-secret", hookPath);
  check(!!rotated.data && rotated.data.secret !== hook.data.secret && !!rotated.data.previous_secret_expires_at, "rotated", rotated.error);
  const tried = await client.POST("/api/v1/webhook-endpoints/{id}/test", hookPath);
  check(tried.data?.delivered === false && !!tried.data.error, "a test to nobody fails", tried.data ?? tried.error);
  const attempts = await client.GET("/api/v1/webhook-endpoints/{id}/deliveries", hookPath);
  check(attempts.data?.items[0]?.event_id === tried.data.event_id, "the test is listed", attempts.data ?? attempts.error);
  const enabled = await client.POST("/api/v1/webhook-endpoints/{id}/enable", hookPath);
  check(enabled.data?.status === "enabled", "enabled", enabled.data ?? enabled.error);
  expectProblem(
    await client.POST("/api/v1/webhook-endpoints", { body: { url: "http://127.0.0.1:9/x", events: ["order.shipped"] } }),
    422,
    "/problems/validation-error",
  );
  const removedHook = await client.DELETE("/api/v1/webhook-endpoints/{id}", hookPath);
  check(removedHook.response.status === 204, "deleted", removedHook.error);
  expectProblem(await client.GET("/api/v1/webhook-endpoints/{id}", hookPath), 404, "/problems/not-found");
  step("webhook endpoints: create, read, list, rotate, test, deliveries, enable, delete");

  console.log(`${steps} passed, 0 failed`);
}

main().catch((error: unknown) => {
  console.error(`TypeScript client life cycle failed: ${error instanceof Error ? error.message : String(error)}`);
  console.log("0 passed, 1 failed");
  process.exitCode = 1;
});
