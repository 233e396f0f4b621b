//! CSV for the books: `GET /api/v1/orders/export.csv` streams the orders of a period, page by
//! page, and `POST /api/v1/customers/import` creates or updates customers from a CSV file.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use orderdesk_domain::ports::{BoardCursor, BoardPage, OrderFilter, OrderOverview, OrderReports};
use orderdesk_domain::service::{ImportAction, ImportError, ImportReport, ImportRow, MAX_IMPORT_ROWS};
use orderdesk_domain::{InvalidValue, OrderStatus, Permission, ValidationErrors};
use poem::web::Data;
use poem::{IntoResponse, Response};
use poem_openapi::param::Query;
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use crate::Services;
use crate::body::{BodyFormat, RawBody};
use crate::problem::{ApiError, Errors, FieldProblem, ProblemType, error_sets};
use crate::security::BearerAuth;
use crate::tags::ApiTags;

error_sets! {
    /// `exportOrders`: a period over 366 days is a 422 on `ordered_to`.
    ExportOrdersErrors: [Unauthenticated, Forbidden, Validation, RateLimited, Internal, Unavailable];
    /// `importCustomers`: bad rows are a 422 listing each (`row`, `field`, `message`); over
    /// 5,000 rows (or 1 MiB) a 413; a code taken by a concurrent write a 409.
    ImportCustomersErrors: [MalformedRequest, Unauthenticated, Forbidden, DuplicateCode, RequestTimeout,
        PayloadTooLarge, UnsupportedMediaType, Validation, RateLimited, Internal, Unavailable];
}

/// The import's path: its body may be larger than other requests' ([`IMPORT_MAX_BYTES`]).
pub const IMPORT_PATH: &str = "/api/v1/customers/import";
/// The largest import body, unless `http.max_body_bytes` is larger.
pub const IMPORT_MAX_BYTES: usize = 1024 * 1024;
/// Orders per database read while exporting: memory holds one page, whatever the period.
pub const EXPORT_PAGE_ROWS: u64 = 500;
/// The longest period one export covers.
pub const MAX_EXPORT_DAYS: u32 = 366;
/// UTF-8's byte-order mark: spreadsheets then read the file as UTF-8 (names such as "Wanjirū").
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// The export's columns.
const EXPORT_HEADER: [&str; 11] = [
    "reference",
    "date",
    "time",
    "customer_code",
    "customer_name",
    "customer_phone",
    "item",
    "amount",
    "currency",
    "status",
    "sms_status",
];

/// The shop's time zone (`shop.time_zone`), in request data.
#[derive(Debug, Clone, Copy)]
pub struct ShopZone(pub Tz);

/// CSV import and export.
pub struct CsvApi;

/// `text/csv` request bodies.
pub struct CsvFormat;

impl BodyFormat for CsvFormat {
    const CONTENT_TYPE: &'static str = "text/csv";
    fn accepts(essence: &str) -> bool {
        essence == Self::CONTENT_TYPE
    }
}

/// A CSV body, parsed by [`read_import`].
pub type CsvBody = RawBody<String, CsvFormat>;

/// A CSV file streamed as it is written.
pub struct CsvFile(poem::Body);

impl Payload for CsvFile {
    const CONTENT_TYPE: &'static str = "text/csv; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema { format: Some("binary"), ..MetaSchema::new("string") }))
    }
}

impl IntoResponse for CsvFile {
    fn into_response(self) -> Response {
        Response::builder().content_type(Self::CONTENT_TYPE).body(self.0)
    }
}

#[derive(ApiResponse)]
pub enum CsvExport {
    /// The orders as CSV (UTF-8 with a byte-order mark, CRLF line ends), streamed.
    #[oai(status = 200)]
    Ok(CsvFile, #[oai(header = "Content-Disposition")] String),
}

/// What an import did (or, dry, would do) with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ImportAction", rename_all = "snake_case")]
pub enum ImportActionBody {
    Created,
    Updated,
    Unchanged,
}

impl From<ImportAction> for ImportActionBody {
    fn from(action: ImportAction) -> Self {
        match action {
            ImportAction::Created => Self::Created,
            ImportAction::Updated => Self::Updated,
            ImportAction::Unchanged => Self::Unchanged,
        }
    }
}

/// One row of an import's report.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "ImportedRow")]
pub struct ImportedRowBody {
    /// The row's line in the file (the header is line 1).
    pub row: u64,
    /// The customer's code as stored (the first spelling, for an existing customer).
    pub code: String,
    /// `created`, `updated`, or `unchanged` (not written; its version stays).
    pub action: ImportActionBody,
}

/// What an import did, or with `dry_run` would do.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "CustomerImport")]
pub struct CustomerImportBody {
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Every row, in file order.
    pub rows: Vec<ImportedRowBody>,
}

impl CustomerImportBody {
    fn new(report: ImportReport, dry_run: bool) -> Self {
        let count = |action| u64::try_from(report.count(action)).unwrap_or(u64::MAX);
        Self {
            dry_run,
            created: count(ImportAction::Created),
            updated: count(ImportAction::Updated),
            unchanged: count(ImportAction::Unchanged),
            rows: report
                .rows
                .into_iter()
                .map(|r| ImportedRowBody { row: r.row, code: r.code, action: r.action.into() })
                .collect(),
        }
    }
}

#[OpenApi(tag = "ApiTags::Orders")]
impl CsvApi {
    /// Export orders as CSV
    ///
    /// The orders placed in `[ordered_from, ordered_to)` (at most 366 days; more is a 422 on
    /// `ordered_to`), optionally only those in some statuses, newest first, as
    /// `text/csv; charset=utf-8` with a byte-order mark, streamed page by page. Columns:
    /// `reference, date, time, customer_code, customer_name, customer_phone, item, amount,
    /// currency, status, sms_status`: `date` and `time` are local in the shop's time zone
    /// (`shop.time_zone`), `amount` a plain decimal (`1250.50`), `sms_status` the newest SMS's
    /// status (empty without one). A text cell beginning with `=`, `+`, `-`, `@`, a tab or a
    /// carriage return is prefixed with `'` so a spreadsheet never runs it as a formula; phone
    /// numbers therefore read `'+254712345678`.
    ///
    /// Requires the `read:orders` permission.
    #[oai(path = "/api/v1/orders/export.csv", method = "get", operation_id = "exportOrders")]
    async fn export(
        &self,
        services: Data<&Services>,
        zone: Data<&ShopZone>,
        auth: BearerAuth,
        /// Orders placed at or after this time (RFC 3339).
        ordered_from: Query<DateTime<Utc>>,
        /// Orders placed before this time (RFC 3339); at most 366 days after `ordered_from`.
        ordered_to: Query<DateTime<Utc>>,
        /// Only orders in these statuses: one or more, comma-separated (`completed,cancelled`).
        #[oai(validator(max_length = 200))]
        status: Query<Option<String>>,
    ) -> Result<CsvExport, Errors<ExportOrdersErrors>> {
        auth.require(Permission::ReadOrders)?;
        let (from, to) = (ordered_from.0, ordered_to.0);
        let mut errors: Option<ValidationErrors> = None;
        let mut fail = |field, reason| {
            errors = Some(match errors.take() {
                Some(e) => e.and(field, reason),
                None => ValidationErrors::single(field, reason),
            });
        };
        if to <= from {
            fail("ordered_to", InvalidValue::BeforeOther { other: "ordered_from" });
        } else if to - from > chrono::Duration::days(i64::from(MAX_EXPORT_DAYS)) {
            fail("ordered_to", InvalidValue::PeriodTooLong { max_days: MAX_EXPORT_DAYS, other: "ordered_from" });
        }
        let statuses = match status.0.as_deref() {
            Some(list) => OrderStatus::parse_list(list).unwrap_or_else(|reason| {
                fail("status", reason);
                Vec::new()
            }),
            None => Vec::new(),
        };
        if let Some(errors) = errors {
            return Err(errors.into());
        }
        let filter = OrderFilter { statuses, ordered_from: Some(from), ordered_to: Some(to), ..OrderFilter::default() };
        // The first page before answering, so a database failure is still a problem response.
        let reports = services.reports.clone();
        let first = reports.board(&filter, None, EXPORT_PAGE_ROWS).await.map_err(ApiError::storage)?;
        let name = format!("orders-{}-{}.csv", file_date(from, zone.0.0), file_date(to, zone.0.0));
        let body = poem::Body::from_bytes_stream(export_stream(reports, filter, zone.0.0, first));
        Ok(CsvExport::Ok(CsvFile(body), format!("attachment; filename=\"{name}\"")))
    }

    /// Import customers from CSV
    ///
    /// The body is `text/csv` (UTF-8, a byte-order mark allowed) with a header row naming the
    /// columns, in any order: `code`, `name` and `phone` (required), `language` (`en` or `sw`)
    /// and `sms_opt_out` (`true`/`false`, `yes`/`no`, `1`/`0`) optional; an empty optional cell
    /// keeps a customer's value (a new customer gets the defaults). Phones without `+country`
    /// are read in the server's default region. At most 5,000 rows and 1 MiB: more is a 413.
    ///
    /// Every row is validated first; any bad value is a 422 whose `errors` list every one
    /// (`row`: the line in the file, the header being line 1; `field`; `message`), and nothing
    /// is written. Then each row creates a customer, or updates the one with its code (ignoring
    /// case; the stored spelling of the code is kept). A row that changes nothing is not
    /// written, so importing the same file again changes nothing and no `ETag` moves. Everything
    /// is written in one transaction: all rows or none. With `dry_run=true` nothing is written
    /// and the report says what would happen.
    ///
    /// Requires the `write:customers` permission.
    #[oai(path = "/api/v1/customers/import", method = "post", operation_id = "importCustomers")]
    async fn import(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        body: CsvBody,
        /// Validate and report without writing anything.
        dry_run: Query<Option<bool>>,
    ) -> Result<Json<CustomerImportBody>, Errors<ImportCustomersErrors>> {
        let caller = auth.require(Permission::WriteCustomers)?;
        let dry_run = dry_run.0.unwrap_or(false);
        let (rows, mut problems) = read_import(body.bytes())?;
        if !problems.is_empty() {
            // Report the readable rows' bad values too, so one answer lists every bad row.
            if let Err(ImportError::Rows(more)) = services.customers.import(rows, true, caller.actor()).await {
                problems.extend(more.into_iter().map(|r| FieldProblem {
                    row: Some(r.row),
                    field: r.field.to_owned(),
                    message: r.message,
                }));
            }
            problems.sort_by_key(|p| p.row);
            return Err(ApiError::validation(problems).into());
        }
        let report = services.customers.import(rows, dry_run, caller.actor()).await?;
        Ok(Json(CustomerImportBody::new(report, dry_run)))
    }
}

/// A date for the file name: the local date of `time`.
pub(crate) fn file_date(time: DateTime<Utc>, zone: Tz) -> String {
    time.with_timezone(&zone).format("%Y-%m-%d").to_string()
}

/// Where an export is: the page read ahead (the first), and where the next starts.
struct ExportState {
    reports: Arc<dyn OrderReports>,
    filter: OrderFilter,
    zone: Tz,
    ahead: Option<BoardPage>,
    next: Option<BoardCursor>,
    first: bool,
    done: bool,
}

/// The file, one chunk per page of [`EXPORT_PAGE_ROWS`] orders; the first chunk starts with
/// the byte-order mark and the header. A page that cannot be read ends the stream with an
/// error, so the client sees a broken transfer, never a file that looks complete.
pub(crate) fn export_stream(
    reports: Arc<dyn OrderReports>,
    filter: OrderFilter,
    zone: Tz,
    first: BoardPage,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let state = ExportState { reports, filter, zone, ahead: Some(first), next: None, first: true, done: false };
    futures_util::stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        let page = match state.ahead.take() {
            Some(page) => page,
            None => match state.reports.board(&state.filter, state.next, EXPORT_PAGE_ROWS).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(error.cause_chain = ?error, "CSV export stopped: cannot read orders");
                    state.done = true;
                    return Some((Err(std::io::Error::other("cannot read orders")), state));
                }
            },
        };
        state.next = page.next;
        state.done = page.next.is_none();
        let chunk = write_page(&page.items, state.zone, state.first);
        state.first = false;
        Some((chunk.map(Bytes::from), state))
    })
}

/// `cell` made safe to open in a spreadsheet (OWASP CSV injection): one beginning with `=`,
/// `+`, `-`, `@`, a tab or a carriage return gets a leading `'`.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// One page as CSV rows (RFC 4180 quoting, CRLF), after the BOM and header when `first`.
fn write_page(rows: &[OrderOverview], zone: Tz, first: bool) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::with_capacity(rows.len() * 128 + 256);
    if first {
        out.extend_from_slice(BOM);
    }
    let mut writer = ::csv::WriterBuilder::new().terminator(::csv::Terminator::CRLF).from_writer(out);
    if first {
        writer.write_record(EXPORT_HEADER)?;
    }
    for row in rows {
        let order = &row.order;
        let local = order.ordered_at().with_timezone(&zone);
        let amount = order.amount();
        writer.write_record([
            neutralise(order.reference().as_str()).as_ref(),
            &local.format("%Y-%m-%d").to_string(),
            &local.format("%H:%M:%S").to_string(),
            &neutralise(&row.customer_code),
            &neutralise(&row.customer_name),
            &neutralise(&row.customer_phone),
            &neutralise(order.item().as_str()),
            // A plain decimal, never negative: left as it is.
            &amount.amount_string(),
            amount.currency().code(),
            order.status().as_str(),
            row.sms_status.map(|s| s.as_str()).unwrap_or_default(),
        ])?;
    }
    writer.into_inner().map_err(|e| std::io::Error::other(e.to_string()))
}

/// The import's columns.
const IMPORT_COLUMNS: [&str; 5] = ["code", "name", "phone", "language", "sms_opt_out"];

/// Reads an import body into rows, and the problems of rows that cannot be read (a cell too
/// many, not UTF-8). The header's problems are a 422 at once.
///
/// # Errors
/// 422 for an unusable header, 413 over [`MAX_IMPORT_ROWS`] rows.
fn read_import(bytes: &[u8]) -> Result<(Vec<ImportRow>, Vec<FieldProblem>), ApiError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    // CRLF as LF: the reader then numbers a record by the line it starts on either way.
    let mut text = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&byte, tail)) = rest.split_first() {
        if !(byte == b'\r' && tail.first() == Some(&b'\n')) {
            text.push(byte);
        }
        rest = tail;
    }
    let mut reader = ::csv::ReaderBuilder::new().flexible(true).from_reader(text.as_slice());
    let header_problem = |message: String| FieldProblem { row: Some(1), field: "header".into(), message };
    let header = match reader.headers() {
        Ok(header) => header.clone(),
        Err(e) => return Err(ApiError::validation(vec![header_problem(format!("cannot be read: {e}"))])),
    };
    // Where each known column is.
    let mut at: [Option<usize>; 5] = [None; 5];
    let mut problems = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let name = name.trim().to_ascii_lowercase();
        match IMPORT_COLUMNS.iter().position(|c| *c == name) {
            Some(column) if at[column].is_some() => problems.push(header_problem(format!("names {name} twice"))),
            Some(column) => at[column] = Some(index),
            None => problems.push(header_problem(format!(
                "has an unknown column {name:?} (the columns are {})",
                IMPORT_COLUMNS.join(", ")
            ))),
        }
    }
    for (column, name) in IMPORT_COLUMNS.iter().enumerate().take(3) {
        if at[column].is_none() {
            problems.push(header_problem(format!("needs the column {name}")));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let mut rows = Vec::new();
    let mut record = ::csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let row = e.position().map_or(line, |p| p.line());
                let message = match e.kind() {
                    ::csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".to_owned(),
                    _ => format!("cannot be read: {e}"),
                };
                problems.push(FieldProblem { row: Some(row), field: "row".into(), message });
                if !matches!(e.kind(), ::csv::ErrorKind::Utf8 { .. }) {
                    break;
                }
                continue;
            }
        }
        if rows.len() + problems.len() >= MAX_IMPORT_ROWS {
            return Err(ApiError::new(
                ProblemType::PayloadTooLarge,
                format!("an import takes at most {MAX_IMPORT_ROWS} rows; split the file"),
            ));
        }
        let row = record.position().map_or(line, |p| p.line());
        if record.len() > header.len() {
            let message = format!("has {} cells; the header has {}", record.len(), header.len());
            problems.push(FieldProblem { row: Some(row), field: "row".into(), message });
            continue;
        }
        let cell = |column: usize| at[column].and_then(|i| record.get(i)).map(str::to_owned);
        rows.push(ImportRow {
            row,
            code: cell(0).unwrap_or_default(),
            name: cell(1).unwrap_or_default(),
            phone: cell(2).unwrap_or_default(),
            language: cell(3),
            sms_opt_out: cell(4),
        });
    }
    Ok((rows, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_are_neutralised() {
        for risky in ["=cmd|' /C calc'!A0", "+254712345678", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(risky), format!("'{risky}"));
        }
        for plain in ["Wanjirū", "ORD-1001", "250.50", "", " =x"] {
            assert_eq!(neutralise(plain), plain);
        }
    }

    #[test]
    fn an_import_reads_any_column_order_a_bom_and_quoted_cells() {
        let body = "\u{feff}Phone,code,NAME,sms_opt_out\r\n0712345678,c-1,\"Achieng, Mary\",yes\n+254712345679,c-2,\"Line\nbreak\",\n";
        let (rows, problems) = read_import(body.as_bytes()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].row, rows[0].code.as_str(), rows[0].name.as_str()), (2, "c-1", "Achieng, Mary"));
        assert_eq!(rows[0].sms_opt_out.as_deref(), Some("yes"));
        assert_eq!(rows[0].language, None);
        assert_eq!((rows[1].row, rows[1].name.as_str()), (3, "Line\nbreak"));
    }

    #[test]
    fn a_bad_header_and_too_many_cells_are_named() {
        let error = read_import(b"code,name,telephone\n").unwrap_err();
        let fields: Vec<_> = error.problem().errors.clone().unwrap().into_iter().map(|p| p.message).collect();
        assert_eq!(fields.len(), 2, "{fields:?}");
        let (_, problems) = read_import(b"code,name,phone\na,b,c,d\n").unwrap();
        assert_eq!(problems[0].row, Some(2));
        let many = format!("code,name,phone\n{}", "a,b,c\n".repeat(MAX_IMPORT_ROWS + 1));
        assert_eq!(read_import(many.as_bytes()).unwrap_err().problem().status, 413);
    }
}
