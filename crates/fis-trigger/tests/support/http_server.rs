//! Scripted HTTP servers on 127.0.0.1 for tests (the URL probe's, and the end-to-end tests'
//! stand-ins for AWS endpoints that misbehave).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Starts a server that answers the `n`th request (from 0), given the request (request line,
/// headers and body), with `answer(n, request)`: `(status line, content type, body)`. Returns
/// its base URL and the number of requests it has served.
#[allow(dead_code)]
pub fn serve(
    answer: impl Fn(usize, &str) -> (String, &'static str, String) + Send + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // The head, then as much body as its content-length says.
            let complete = |request: &[u8]| {
                let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
                    return false;
                };
                let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                request.len() >= end + 4 + length
            };
            while !complete(&request) {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, content_type, body) = answer(n, &String::from_utf8_lossy(&request));
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    (url, served)
}

/// A health endpoint whose first `healthy` answers are 200 and the rest 503.
#[allow(dead_code)]
pub fn degrading_server(healthy: usize) -> (String, Arc<AtomicUsize>) {
    let (base, served) = serve(move |n, _| {
        let status = if n < healthy {
            "200 OK"
        } else {
            "503 Service Unavailable"
        };
        (status.to_owned(), "text/plain", String::new())
    });
    (format!("{base}/health"), served)
}
