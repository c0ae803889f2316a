//! A small HTTP/1.1 client for tests of Accord's HTTP endpoints (`/metrics`, the cluster
//! metrics endpoint): one `GET` per connection through hyper, so chunked and gzip-encoded
//! responses are read the way a scraper reads them. The body is kept as sent;
//! [`HttpResponse::text`] undoes `Content-Encoding: gzip`.

use std::{io::Read as _, net::SocketAddr};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http::{HeaderMap, Request, header};
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A response: status, headers and the body's bytes as they came off the wire (after chunked
/// transfer decoding, before any content decoding).
#[derive(Debug)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Every header.
    pub headers: HeaderMap,
    /// The body as sent.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name`, if it is there and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of header `name`, split at commas and trimmed, lower-cased (for `Vary`).
    pub fn header_tokens(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// The body as UTF-8 text, gunzipped when `Content-Encoding` is `gzip`.
    pub fn text(&self) -> anyhow::Result<String> {
        match self.header(header::CONTENT_ENCODING.as_str()) {
            None => String::from_utf8(self.body.clone()).context("the body is not UTF-8"),
            Some(coding) if coding.eq_ignore_ascii_case("gzip") => gunzip(&self.body),
            Some(other) => bail!("unexpected Content-Encoding {other:?}"),
        }
    }
}

/// `GET path` from `addr` with `headers` (plus `Host`).
pub async fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<HttpResponse> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP/1.1 handshake")?;
    let connection = tokio::spawn(connection);
    let mut request = Request::get(path).header(header::HOST, addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .context("building the request")?;
    let response = sender
        .send_request(request)
        .await
        .with_context(|| format!("GET {path}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .context("reading the body")?
        .to_bytes()
        .to_vec();
    // No second request: dropping the sender lets the connection finish.
    drop(sender);
    connection
        .await
        .context("the connection task")?
        .context("the connection")?;
    Ok(HttpResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// `bytes` gunzipped, as UTF-8 text.
pub fn gunzip(bytes: &[u8]) -> anyhow::Result<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .context("gunzipping the body")?;
    Ok(text)
}
