//! Verifying an RS256 access token whose key is already cached: the cost every API call pays,
//! with the verified-token cache off (a new token: the RSA check) and on (a repeated token).
//! Run with `cargo xtask bench --criterion`.

use criterion::{Criterion, criterion_group, criterion_main};
use orderdesk_adapters::auth::{AuthSettings, JwksTokenVerifier};
use orderdesk_adapters::testing::auth0::FakeAuth0;
use orderdesk_domain::auth::TokenVerifier;

fn verify_cached_rs256(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let auth0 = runtime.block_on(FakeAuth0::start());
    let token = auth0.sign(0, &auth0.claims());
    for (name, capacity) in [
        ("verify RS256 access token (cached key)", 0),
        ("verify RS256 access token (verified-token cache hit)", 10_000),
    ] {
        let settings = AuthSettings { token_cache_capacity: capacity, ..auth0.settings() };
        let verifier = JwksTokenVerifier::new(&settings).expect("verifier");
        runtime.block_on(async {
            verifier.prefetch().await.expect("keys");
            verifier.verify(&token).await.expect("valid token");
        });
        c.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async { verifier.verify(&token).await.expect("valid token") });
        });
    }
    drop(auth0);
}

criterion_group!(benches, verify_cached_rs256);
criterion_main!(benches);
