//! A raw HTTP/1.1 server with one behaviour per instance: a canned answer, or a misbehaviour no
//! HTTP framework would produce (a reset in the middle of a body, a body that never ends,
//! silence, 50 MB). It records each connection and each request it read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The size of the body `Mode::Huge` sends.
pub const HUGE: u64 = 50 * 1024 * 1024;

#[derive(Clone)]
pub enum Mode {
    /// A complete response, then the connection is closed.
    Canned(Arc<Vec<u8>>),
    /// Reads the request and never answers.
    Silent,
    /// Headers and half of the announced body, then a TCP reset.
    ResetMidBody,
    /// Headers announce 1000 bytes, 20 are sent, then the connection is closed.
    Truncated,
    /// Headers, then one byte every 100 ms, forever.
    Trickle,
    /// A 200 with a 50 MB body, announced by Content-Length or chunked.
    Huge { chunked: bool },
}

pub struct RawServer {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    pub body_bytes_written: Arc<AtomicU64>,
    pub huge_completed: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    pub async fn start(mode: Mode) -> Self {
        Self::start_on("127.0.0.1:0", mode).await
    }

    pub async fn start_on(bind: &str, mode: Mode) -> Self {
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let body_bytes_written = Arc::new(AtomicU64::new(0));
        let huge_completed = Arc::new(AtomicBool::new(false));
        let (c, r, w, done) = (
            Arc::clone(&connections),
            Arc::clone(&requests),
            Arc::clone(&body_bytes_written),
            Arc::clone(&huge_completed),
        );
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (mode, r, w, done) = (mode.clone(), r.clone(), w.clone(), done.clone());
                tokio::spawn(async move {
                    serve(stream, mode, r, w, done).await;
                });
            }
        });
        Self {
            addr,
            connections,
            requests,
            body_bytes_written,
            huge_completed,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }
}

/// Reads one request (headers and a Content-Length body); whatever arrived if it breaks off.
async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return buf;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return buf,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn serve(
    mut stream: TcpStream,
    mode: Mode,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    written: Arc<AtomicU64>,
    completed: Arc<AtomicBool>,
) {
    let request = read_request(&mut stream).await;
    requests.lock().unwrap().push(request);
    let json_head = |len: u64| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
    };
    match mode {
        Mode::Canned(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Mode::Silent => {
            std::future::pending::<()>().await;
        }
        Mode::ResetMidBody => {
            let _ = stream.write_all(json_head(1000).as_bytes()).await;
            let _ = stream.write_all(&[b' '; 500]).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            stream.set_zero_linger().unwrap();
            drop(stream); // RST, not FIN
        }
        Mode::Truncated => {
            let _ = stream.write_all(json_head(1000).as_bytes()).await;
            let _ = stream.write_all(br#"{"access": "eyJhbGci"#).await;
            let _ = stream.shutdown().await;
        }
        Mode::Trickle => {
            let _ = stream.write_all(json_head(100_000).as_bytes()).await;
            while stream.write_all(b" ").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Mode::Huge { chunked } => {
            let head = if chunked {
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned()
            } else {
                json_head(HUGE)
            };
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let block = vec![b' '; 64 * 1024];
            let mut sent = 0u64;
            while sent < HUGE {
                let ok = if chunked {
                    let mut framed = format!("{:x}\r\n", block.len()).into_bytes();
                    framed.extend_from_slice(&block);
                    framed.extend_from_slice(b"\r\n");
                    stream.write_all(&framed).await.is_ok()
                } else {
                    stream.write_all(&block).await.is_ok()
                };
                if !ok {
                    return;
                }
                sent += block.len() as u64;
                written.fetch_add(block.len() as u64, Ordering::SeqCst);
            }
            if chunked {
                let _ = stream.write_all(b"0\r\n\r\n").await;
            }
            completed.store(true, Ordering::SeqCst);
        }
    }
}

pub fn canned(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Mode {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Mode::Canned(Arc::new(bytes))
}

pub fn json_reply(status: &str, body: &str) -> Mode {
    canned(
        status,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}
