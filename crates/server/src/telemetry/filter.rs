//! Which log lines are written: `RUST_LOG` when it is set and valid, else `log.filter`, in
//! tracing-subscriber's `EnvFilter` syntax (`info`, `orderdesk_api=debug,warn`,
//! `[request]=debug`; <https://docs.rs/tracing-subscriber/0.3/tracing_subscriber/filter/struct.EnvFilter.html>).
//!
//! Directives that are only targets and levels (what operators write: `info`,
//! `sqlx=warn,info`) are served by [`Targets`], which decides once per call site. `EnvFilter`
//! decides the same, but also runs on every span enter and exit (a read lock on its span map,
//! a per-thread level stack) for its span directives, and a request enters its span some
//! twenty times: every poll of its future and of each sqlx future that carries it
//! (docs/benchmarks.md, "Seventh pass"). Span and field directives (`[`, `{`) keep `EnvFilter`.
//! A test checks that both decide alike for a matrix of targets, levels and directives.

use std::str::FromStr;

use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::Layer;

/// The directives in force: `RUST_LOG` when it is set and `EnvFilter` accepts it, else the
/// `log.filter` setting (as `EnvFilter::try_from_default_env` falls back).
pub(super) fn directives(setting: &str) -> String {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|value| EnvFilter::try_new(value).is_ok())
        .unwrap_or_else(|| setting.to_owned())
}

/// The subscriber-wide filter for `directives`: [`Targets`] when they are plain, else `EnvFilter`.
pub(super) fn layer<S>(directives: &str) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    match targets_only(directives) {
        Some(targets) => Box::new(targets),
        None => Box::new(EnvFilter::new(directives)),
    }
}

/// `directives` as [`Targets`], when they are nothing but targets and levels. Anything else
/// goes to `EnvFilter`, including what the two read differently: an empty piece (`info,`:
/// `EnvFilter` skips it, `Targets` reads it as every target at `trace`), a piece with no
/// target before `=` (`=info`: `EnvFilter` refuses it) and spaces around a piece.
fn targets_only(directives: &str) -> Option<Targets> {
    let plain_piece = |piece: &str| {
        !piece.is_empty()
            && !piece.starts_with('=')
            && !piece.contains(|c: char| c.is_whitespace() || matches!(c, '[' | '{' | '"'))
    };
    let plain = directives.split(',').all(plain_piece);
    plain.then(|| Targets::from_str(directives).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::Level;
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use tracing_subscriber::registry::Registry;

    use super::*;

    /// Records (target, level) of each event it is shown.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<(String, Level)>>>);

    impl<S: tracing::Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            let meta = event.metadata();
            self.0.lock().expect("not poisoned").push((meta.target().to_owned(), *meta.level()));
        }
    }

    macro_rules! every_level {
        ($target:literal) => {
            tracing::trace!(target: $target, "m");
            tracing::debug!(target: $target, "m");
            tracing::info!(target: $target, "m");
            tracing::warn!(target: $target, "m");
            tracing::error!(target: $target, "m");
        };
    }

    /// Events at every level under targets that share prefixes with the directives below.
    fn emit() {
        every_level!("orderdesk_api::middleware");
        every_level!("orderdesk_api");
        every_level!("orderdesk_adapters::db::group_commit");
        every_level!("orderdesk");
        every_level!("sqlx::query");
        every_level!("sqlx_postgres::options");
        every_level!("hyper_util::client");
        every_level!("runtime.spawn");
    }

    fn seen_with(filter: Box<dyn Layer<Registry> + Send + Sync>) -> Vec<(String, Level)> {
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry().with(seen.clone().and_then(filter));
        tracing::subscriber::with_default(subscriber, emit);
        seen.0.lock().expect("not poisoned").clone()
    }

    #[test]
    fn targets_decide_as_env_filter_does() {
        let directives = [
            "info",
            "warn",
            "trace",
            "off",
            "error,orderdesk_api=debug",
            "orderdesk=trace,sqlx=warn,info",
            "orderdesk_api::middleware=off,info",
            "sqlx=info,sqlx::query=off,debug",
            "orderdesk_adapters",
            "INFO,Hyper_util=TRACE",
            "debug,orderdesk_adapters::db=error,orderdesk_adapters::db::group_commit=trace",
        ];
        for directive in directives {
            let targets = targets_only(directive).unwrap_or_else(|| panic!("{directive} is plain"));
            let ours = seen_with(Box::new(targets));
            let reference = seen_with(Box::new(EnvFilter::new(directive)));
            assert_eq!(ours, reference, "{directive}");
            let expected = match directive {
                "trace" => 40,
                "off" => 0,
                "info" => 24,
                _ => reference.len(),
            };
            assert_eq!(reference.len(), expected, "{directive}: the matrix reaches the filter");
        }
    }

    #[test]
    fn span_and_field_directives_keep_env_filter() {
        let not_plain = [
            "[request]=debug",
            "info,[request{path=\"/x\"}]=trace",
            "",
            "  ",
            "info,",
            ",info",
            "info,,sqlx=warn",
            ",orderdesk=debug",
            "debug,=info",
            "info, sqlx=warn",
        ];
        for directive in not_plain {
            assert!(targets_only(directive).is_none(), "{directive}");
        }
        assert!(targets_only("info,=x").is_none(), "what Targets cannot parse goes to EnvFilter");
    }
}
