//! Which layer of the request path a function belongs to, by its Rust path (or, for C code,
//! its name and object file). The first layer whose prefix matches wins, so a module of our
//! own crates comes before the crate as a whole.

/// Functions no layer claims.
pub const OTHER: &str = "other";
/// C library functions no layer claims (mostly `memcpy`: futures and buffers being moved).
pub const LIBC: &str = "libc (memcpy, system call wrappers)";

/// (layer, path prefixes), in the order they are tried.
pub const LAYERS: &[(&str, &[&str])] = &[
    (
        "request id, access log, error mapping (api::middleware)",
        &["orderdesk_api::middleware", "orderdesk_api::pipeline"],
    ),
    ("tracing spans and log formatting", &["tracing", "tracing_core", "tracing_subscriber", "sharded_slab"]),
    (
        "metrics",
        &["orderdesk_api::metrics", "metrics", "metrics_util", "metrics_exporter_prometheus", "quanta", "prometheus"],
    ),
    (
        "trace context",
        &["opentelemetry", "opentelemetry_sdk", "orderdesk_adapters::trace_context", "orderdesk_api::trace"],
    ),
    ("CORS", &["orderdesk_api::cors"]),
    ("rate limit", &["orderdesk_api::rate_limit", "governor", "dashmap", "nonzero_ext"]),
    ("body limit and deadline", &["orderdesk_api::body", "orderdesk_api::deadline"]),
    ("strict parameters", &["orderdesk_api::strict"]),
    (
        "token check and cache",
        &[
            "orderdesk_api::security",
            "orderdesk_adapters::auth",
            "jsonwebtoken",
            "quick_cache",
            "sha2",
            "base64",
            "rsa",
        ],
    ),
    ("idempotency", &["orderdesk_api::idempotency"]),
    ("endpoints, DTO conversion, domain", &["orderdesk_api", "orderdesk_domain", "reference"]),
    ("JSON", &["serde_json", "serde", "itoa", "ryu"]),
    ("ORM: query building, row mapping", &["sea_orm", "sea_query", "orderdesk_adapters"]),
    ("database driver (sqlx, SQLite)", &["sqlx_core", "sqlx_postgres", "sqlx_sqlite", "libsqlite3_sys", "sqlite3"]),
    (
        "HTTP framework (hyper, poem, axum)",
        &[
            "hyper",
            "hyper_util",
            "http",
            "http_body",
            "http_body_util",
            "httparse",
            "httpdate",
            "poem",
            "poem_openapi",
            "headers",
            "mime",
            "axum",
            "axum_core",
            "tower",
            "matchit",
            "regex",
            "regex_automata",
        ],
    ),
    (
        "async runtime and I/O (tokio, futures)",
        &["tokio", "mio", "futures", "futures_util", "futures_core", "futures_channel", "parking_lot", "crossbeam"],
    ),
    ("uuid, time, decimal", &["uuid", "chrono", "rust_decimal", "time", "getrandom", "rand"]),
    ("formatting (core::fmt)", &["core::fmt", "alloc::fmt"]),
    (
        "allocator (malloc, free)",
        &[
            "malloc",
            "free",
            "realloc",
            "calloc",
            "cfree",
            "_int_",
            "__libc_malloc",
            "__libc_free",
            "malloc_consolidate",
            "unlink_chunk",
            "tcache",
            "__rust_alloc",
            "__rust_dealloc",
            "__rust_realloc",
            "__rdl_",
            "alloc::alloc",
            // mimalloc, the server's global allocator
            "mi_",
            "_mi_",
            "mimalloc",
        ],
    ),
    ("Rust std (collections, strings, sync)", &["core", "alloc", "std", "hashbrown", "smallvec", "bytes", "indexmap"]),
];

/// The layer of `function` (demangled), found in `object` (its binary or shared library).
pub fn layer_of(function: &str, object: &str) -> &'static str {
    let path = owner(function);
    let matches = |prefix: &str| {
        path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || is_c_name(prefix))
    };
    if let Some((layer, _)) = LAYERS.iter().find(|(_, prefixes)| prefixes.iter().any(|p| matches(p))) {
        return layer;
    }
    if object.contains("libc.so") || object.contains("ld-linux") {
        return LIBC;
    }
    OTHER
}

/// C names match on their prefix alone (`sqlite3VdbeExec`, `_int_malloc`); Rust paths on a
/// whole segment.
fn is_c_name(prefix: &str) -> bool {
    prefix.starts_with('_') || ["sqlite3", "tcache", "__rdl_", "mi_"].contains(&prefix)
}

/// The Rust path that owns `function`: `<X as Trait>::f` and `core::ptr::drop_in_place<X>`
/// belong to `X`, references and `dyn` are looked through.
fn owner(function: &str) -> &str {
    let mut path = function.trim();
    loop {
        let before = path;
        path = path.trim_start_matches(['<', '&', '*', '(', '[', ' ']);
        for wrapper in ["mut ", "const ", "dyn ", "core::ptr::drop_in_place<", "core::ptr::drop_in_place::<"] {
            if let Some(rest) = path.strip_prefix(wrapper) {
                path = rest;
            }
        }
        if path == before {
            return path;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_put_in_their_layer() {
        let cases = [
            (
                "orderdesk_api::middleware::request_context::{{closure}}",
                "request id, access log, error mapping (api::middleware)",
            ),
            (
                "<orderdesk_api::pipeline::Pipeline<R> as poem::endpoint::endpoint::Endpoint>::call::{{closure}}",
                "request id, access log, error mapping (api::middleware)",
            ),
            ("<orderdesk_api::rate_limit::RateLimiter as core::clone::Clone>::clone", "rate limit"),
            ("core::ptr::drop_in_place<poem::request::Request>", "HTTP framework (hyper, poem, axum)"),
            ("<&mut serde_json::ser::Serializer<W> as serde::ser::Serializer>::serialize_str", "JSON"),
            ("sqlx_postgres::connection::executor::<impl>::run", "database driver (sqlx, SQLite)"),
            ("sqlite3VdbeExec", "database driver (sqlx, SQLite)"),
            ("_int_malloc", "allocator (malloc, free)"),
            ("mi_free", "allocator (malloc, free)"),
            ("_mi_page_malloc_zero", "allocator (malloc, free)"),
            ("<mimalloc::MiMalloc as core::alloc::global::GlobalAlloc>::alloc", "allocator (malloc, free)"),
            ("core::fmt::write", "formatting (core::fmt)"),
            ("hashbrown::raw::RawTable<T>::reserve_rehash", "Rust std (collections, strings, sync)"),
            ("orderdesk_api::orders::OrdersApi::get_order", "endpoints, DTO conversion, domain"),
            ("tokio::runtime::task::raw::poll", "async runtime and I/O (tokio, futures)"),
        ];
        for (function, layer) in cases {
            assert_eq!(layer_of(function, "/tmp/orderdesk"), layer, "{function}");
        }
    }

    #[test]
    fn prefixes_match_whole_path_segments() {
        // `httparse` is HTTP, but a crate named `httpx` is not `http`.
        assert_eq!(layer_of("httpx::thing", "/tmp/orderdesk"), OTHER);
        assert_eq!(layer_of("memcpy", "/usr/lib/x86_64-linux-gnu/libc.so.6"), "libc (memcpy, system call wrappers)");
        assert_eq!(layer_of("memcpy", "/tmp/orderdesk"), OTHER);
    }
}
