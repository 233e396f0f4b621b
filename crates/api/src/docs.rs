//! The interactive docs (`/docs`, Swagger UI) and `/favicon.ico`, built once at start-up:
//! Swagger UI is one 1.8 MB page, so it is served gzip-compressed when the client accepts it
//! (RFC 9110 §8.4, §12.5.3), with a strong entity tag and `Cache-Control` so a browser asks
//! again only with `If-None-Match` (answered 304).

use std::io::Write;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, Request, Response};

/// One fixed response body, its gzip form and its entity tag.
#[derive(Clone)]
struct Asset {
    content_type: &'static str,
    plain: bytes::Bytes,
    gzip: Option<bytes::Bytes>,
    etag: HeaderValue,
    /// The gzip form's own strong tag (RFC 9110 §8.8.3: each content coding is another
    /// representation).
    gzip_etag: HeaderValue,
    /// `Cache-Control`, and extra headers (the docs' Content-Security-Policy, ...).
    headers: Vec<(header::HeaderName, HeaderValue)>,
}

/// A browser keeps the docs or the icon an hour before revalidating.
const CACHE_CONTROL: &str = "public, max-age=3600";

impl Asset {
    fn new(content_type: &'static str, body: Vec<u8>, compress: bool) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(&body);
        let tag: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{tag}\"")).unwrap_or(HeaderValue::from_static("\"0\""));
        let gzip_etag =
            HeaderValue::from_str(&format!("\"{tag}-gzip\"")).unwrap_or(HeaderValue::from_static("\"0-gzip\""));
        let gzip = compress.then(|| gzip(&body)).flatten().map(bytes::Bytes::from);
        let cache = HeaderValue::from_static(CACHE_CONTROL);
        Self { content_type, plain: body.into(), gzip, etag, gzip_etag, headers: vec![(header::CACHE_CONTROL, cache)] }
    }

    fn respond(&self, req: &Request) -> Response {
        let gzip = self.gzip.as_ref().filter(|_| accepts_gzip(req));
        let etag = if gzip.is_some() { &self.gzip_etag } else { &self.etag };
        let asked = req.headers().get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok());
        let not_modified = asked
            .into_iter()
            .any(|value| etag.to_str().is_ok_and(|current| crate::conditional::none_match_names(Some(value), current)));
        let mut response = if not_modified {
            Response::builder().status(StatusCode::NOT_MODIFIED).finish()
        } else if let Some(gzip) = gzip {
            Response::builder()
                .content_type(self.content_type)
                .header(header::CONTENT_ENCODING, "gzip")
                .body(gzip.clone())
        } else {
            Response::builder().content_type(self.content_type).body(self.plain.clone())
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, etag.clone());
        if self.gzip.is_some() {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        response
    }

    fn endpoint(self) -> impl Endpoint<Output = Response> {
        poem::get(poem::endpoint::make_sync(move |req| self.respond(&req)))
    }
}

/// `gzip` listed in `Accept-Encoding` with a non-zero weight.
fn accepts_gzip(req: &Request) -> bool {
    req.headers().get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|value| {
        value.split(',').any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>() == Ok(0.0)));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
    })
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// `GET /docs`: Swagger UI over `html`, with security headers: no framing, and a
/// Content-Security-Policy that runs only the page's own inline scripts (allowed by their
/// SHA-256, computed once from the page), talks only to this server and loads nothing from
/// elsewhere. Swagger UI styles elements at run time, so styles stay `'unsafe-inline'`.
pub fn docs_page(html: String) -> impl Endpoint<Output = Response> {
    let script_src = inline_script_hashes(html.as_bytes());
    let policy = format!(
        "default-src 'none'; script-src{script_src}; style-src 'unsafe-inline'; img-src 'self' data:; \
         font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let mut asset = Asset::new("text/html; charset=utf-8", html.into_bytes(), true);
    if let Ok(value) = HeaderValue::from_str(&policy) {
        asset.headers.push((header::CONTENT_SECURITY_POLICY, value));
    }
    asset.headers.push((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")));
    asset.headers.push((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")));
    asset.endpoint()
}

/// `GET /openapi.json`: the document, gzip-compressed when accepted, with an entity tag.
pub fn openapi_document(document: String) -> impl Endpoint<Output = Response> {
    Asset::new("application/json", document.into_bytes(), true).endpoint()
}

/// `GET /favicon.ico`: a 16×16 icon, so browsers' automatic request is not a 404.
pub fn favicon() -> impl Endpoint<Output = Response> {
    Asset::new("image/x-icon", include_bytes!("favicon.ico").to_vec(), false).endpoint()
}

/// `" 'sha256-…' 'sha256-…'"`: one source per inline `<script>` of the page.
fn inline_script_hashes(html: &[u8]) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let mut sources = String::new();
    let mut rest = html;
    while let Some(open) = find(rest, b"<script") {
        let after_open = &rest[open..];
        let Some(tag_end) = find(after_open, b">") else { break };
        let content = &after_open[tag_end + 1..];
        let Some(close) = find(content, b"</script>") else { break };
        let digest = Sha256::digest(&content[..close]);
        sources.push_str(" 'sha256-");
        sources.push_str(&base64::engine::general_purpose::STANDARD.encode(digest));
        sources.push('\'');
        rest = &content[close..];
    }
    if sources.is_empty() { " 'none'".to_owned() } else { sources }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_allowed_by_their_sha256() {
        let page = b"<html><script>alert('hi')</script><p>x</p><script charset=\"UTF-8\">\n  let x = 1;\n</script>";
        assert_eq!(
            inline_script_hashes(page),
            " 'sha256-XTqNqFSUlZHAW7f/OGNYSOEzxKhjdAAGMXoid2VEbJk=' 'sha256-A2jmBYlPp/F4lo/1Kz8Dq7g9bhRinYgnzxYyprQnoCQ='"
        );
        assert_eq!(inline_script_hashes(b"<p>no scripts</p>"), " 'none'");
    }

    #[tokio::test]
    async fn the_docs_are_compressed_cacheable_and_revalidated() {
        let html = format!("<html><script>{}</script></html>", "let swagger = 1;\n".repeat(10_000));
        let client = poem::test::TestClient::new(docs_page(html.clone()));
        let plain = client.get("/").send().await;
        plain.assert_status_is_ok();
        assert!(plain.0.headers().get(header::CONTENT_ENCODING).is_none());
        let etag = plain.0.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert_eq!(plain.0.headers()[header::CACHE_CONTROL], "public, max-age=3600");

        let gzipped = client.get("/").header(header::ACCEPT_ENCODING, "br, gzip;q=0.8").send().await;
        assert_eq!(gzipped.0.headers()[header::CONTENT_ENCODING], "gzip");
        assert_ne!(gzipped.0.headers()[header::ETAG].to_str().unwrap(), etag, "each coding has its own tag");
        assert_eq!(gzipped.0.headers()[header::VARY], "accept-encoding");
        let compressed = gzipped.0.into_body().into_bytes().await.unwrap();
        assert!(compressed.len() * 20 < html.len(), "{} of {}", compressed.len(), html.len());
        let mut decoded = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut decoded).unwrap();
        assert_eq!(decoded, html);

        let refused = client.get("/").header(header::ACCEPT_ENCODING, "gzip;q=0").send().await;
        assert!(refused.0.headers().get(header::CONTENT_ENCODING).is_none(), "q=0 refuses gzip");
        let cached = client.get("/").header(header::IF_NONE_MATCH, etag.as_str()).send().await;
        cached.assert_status(StatusCode::NOT_MODIFIED);
        assert!(cached.0.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    }

    #[tokio::test]
    async fn the_favicon_answers() {
        let response = poem::test::TestClient::new(favicon()).get("/").send().await;
        response.assert_status_is_ok();
        response.assert_content_type("image/x-icon");
        let body = response.0.into_body().into_bytes().await.unwrap();
        assert_eq!(&body[..4], &[0, 0, 1, 0], "an ICO header");
    }
}
