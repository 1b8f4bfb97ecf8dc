//! Scripted HTTP servers on 127.0.0.1 for tests (the URL probe's, and the end-to-end tests'
//! stand-ins for AWS endpoints that misbehave).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
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
            let request = read_message(&mut stream);
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

/// Reads one HTTP request from `stream`: the head, then as much body as its content-length
/// says (none without one).
fn read_message(stream: &mut TcpStream) -> Vec<u8> {
    let mut message = Vec::new();
    let mut buffer = [0u8; 8192];
    let complete = |message: &[u8]| {
        let Some(end) = message.windows(4).position(|w| w == b"\r\n\r\n") else {
            return false;
        };
        let length = header(&message[..end], "content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        message.len() >= end + 4 + length
    };
    while !complete(&message) {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => message.extend_from_slice(&buffer[..n]),
        }
    }
    message
}

/// The value of header `name` (lower case) in an HTTP head.
fn header(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head).lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// An answer as a proxy relays it.
#[allow(dead_code)]
pub struct Answer {
    /// `200 OK`.
    pub status: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Starts a proxy in front of `upstream` (a base URL such as moto's). Each request is given
/// to `relay(request, forward)`: `forward()` sends it to `upstream` unchanged and gives its
/// answer, which `relay` may change; `None` closes the connection without answering (a
/// server gone away). `request` is the request's head and body as text, for telling the
/// calls apart. Returns the proxy's base URL.
#[allow(dead_code)]
pub fn proxy(
    upstream: &str,
    relay: impl Fn(&str, &dyn Fn() -> Option<Answer>) -> Option<Answer> + Send + 'static,
) -> String {
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let request = read_message(&mut stream);
            let forward = || forward(&upstream, &request);
            if let Some(answer) = relay(&String::from_utf8_lossy(&request), &forward) {
                let mut out = format!(
                    "HTTP/1.1 {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    answer.status,
                    answer.content_type,
                    answer.body.len()
                )
                .into_bytes();
                out.extend(answer.body);
                let _ = stream.write_all(&out);
            }
        }
    });
    url
}

/// The action of a query-protocol request (CloudFormation's `Action=DescribeStacks`).
#[allow(dead_code)]
pub fn query_action(request: &str) -> Option<&str> {
    let (_, body) = request.split_once("\r\n\r\n")?;
    body.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
}

/// Sends `request` to `upstream` (host:port) on a connection of its own, closed after the
/// answer, and reads the answer.
fn forward(upstream: &str, request: &[u8]) -> Option<Answer> {
    let end = request.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&request[..end]);
    let mut sent: Vec<u8> = head
        .lines()
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .flat_map(|line| format!("{line}\r\n").into_bytes())
        .collect();
    sent.extend_from_slice(b"connection: close\r\n\r\n");
    sent.extend_from_slice(&request[end + 4..]);
    let mut server = TcpStream::connect(upstream).ok()?;
    server.write_all(&sent).ok()?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).ok()?;
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = &answer[..end];
    let status = String::from_utf8_lossy(head)
        .lines()
        .next()?
        .split_once(' ')?
        .1
        .to_owned();
    let mut body = answer[end + 4..].to_vec();
    if header(head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    }
    Some(Answer {
        status,
        content_type: header(head, "content-type").unwrap_or_else(|| "text/plain".into()),
        body,
    })
}

/// The payload of a chunked body.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&body[..line_end])
                .split(';')
                .next()
                .unwrap_or("")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&body[start..(start + size).min(body.len())]);
        body = &body[(start + size + 2).min(body.len())..];
    }
    out
}
