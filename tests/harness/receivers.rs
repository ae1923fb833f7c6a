//! Real receivers for outbound messages, started by the tests: an HTTP receiver (webhooks,
//! Slack, Teams, SMS providers) and an SMTP sink. Both record everything they get.
//!
//! The HTTP receiver answers by the first segment of the path: `/ok/…` 200; `/flaky/{n}/…`
//! 500 for the first `n` requests to that path, then 200; `/down/…` always 503.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub status: u16,
    pub at: SystemTime,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct HttpReceiver {
    pub base: String,
    log: Arc<Mutex<Vec<Received>>>,
}

impl HttpReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let log: Arc<Mutex<Vec<Received>>> = Arc::default();
        let counts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        let (l, c) = (log.clone(), counts.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, counts) = (l.clone(), c.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (log, counts) = (log.clone(), counts.clone());
                        async move {
                            let path = req.uri().path().to_owned();
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                                .collect();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes().to_vec())
                                .unwrap_or_default();
                            let seen = {
                                let mut c = counts.lock().expect("counts");
                                let n = c.entry(path.clone()).or_insert(0);
                                *n += 1;
                                *n
                            };
                            let mut parts = path.trim_start_matches('/').split('/');
                            let status = match (parts.next(), parts.next()) {
                                (Some("flaky"), Some(n)) if seen <= n.parse().unwrap_or(0) => 500,
                                (Some("down"), _) => 503,
                                _ => 200,
                            };
                            log.lock().expect("log").push(Received {
                                path,
                                headers,
                                body,
                                status,
                                at: SystemTime::now(),
                            });
                            let resp = hyper::Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from_static(b"{}")))
                                .expect("response");
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self { base, log }
    }

    /// Everything received, on any path.
    pub fn all(&self) -> Vec<Received> {
        self.received("")
    }

    /// Everything received on paths starting with `prefix`.
    pub fn received(&self, prefix: &str) -> Vec<Received> {
        self.log
            .lock()
            .map(|l| l.iter().filter(|r| r.path.starts_with(prefix)).cloned().collect())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent (CRLF line ends).
    pub data: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }
    /// The body, decoded from quoted-printable when sent so.
    pub fn body(&self) -> String {
        let raw = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        let qp = self
            .header("content-transfer-encoding")
            .is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable"));
        if !qp {
            return raw;
        }
        let joined = raw.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// An SMTP server that accepts every message (no TLS, no auth) and keeps it.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    mail: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let mail: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let m = mail.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let m = m.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let (mut from, mut to) = (String::new(), Vec::new());
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                            b"250 sink\r\n"
                        } else if upper.starts_with("MAIL FROM:") {
                            from = line[10..].trim().trim_matches(|c| c == '<' || c == '>').to_owned();
                            b"250 ok\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            to.push(line[8..].trim().trim_matches(|c| c == '<' || c == '>').to_owned());
                            b"250 ok\r\n"
                        } else if upper == "DATA" {
                            let _ = w.write_all(b"354 end with .\r\n").await;
                            let mut data = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                data.push_str(l.strip_prefix('.').filter(|_| l.starts_with("..")).unwrap_or(&l));
                                data.push_str("\r\n");
                            }
                            if let Ok(mut all) = m.lock() {
                                all.push(Mail {
                                    from: from.clone(),
                                    to: std::mem::take(&mut to),
                                    data,
                                });
                            }
                            b"250 queued\r\n"
                        } else if upper == "QUIT" {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        if w.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { port, mail }
    }

    /// Every message received, to anyone.
    pub fn all(&self) -> Vec<Mail> {
        self.mail.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn mail_to(&self, address: &str) -> Vec<Mail> {
        self.mail
            .lock()
            .map(|m| {
                m.iter()
                    .filter(|x| x.to.iter().any(|t| t == address))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}
