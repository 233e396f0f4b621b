//! Verifying an RS256 access token whose key is already cached: the cost every API call pays.
//! Run with `cargo xtask bench`.

use criterion::{Criterion, criterion_group, criterion_main};
use orderdesk_adapters::auth::JwksTokenVerifier;
use orderdesk_adapters::testing::auth0::FakeAuth0;
use orderdesk_domain::auth::TokenVerifier;

fn verify_cached_rs256(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let (auth0, verifier, token) = runtime.block_on(async {
        let auth0 = FakeAuth0::start().await;
        let verifier = JwksTokenVerifier::new(&auth0.settings()).expect("verifier");
        verifier.prefetch().await.expect("keys");
        let token = auth0.sign(0, &auth0.claims());
        (auth0, verifier, token)
    });
    runtime.block_on(async { verifier.verify(&token).await.expect("valid token") });
    c.bench_function("verify RS256 access token (cached key)", |b| {
        b.to_async(&runtime).iter(|| async { verifier.verify(&token).await.expect("valid token") });
    });
    drop(auth0);
}

criterion_group!(benches, verify_cached_rs256);
criterion_main!(benches);
