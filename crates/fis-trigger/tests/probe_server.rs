//! The URL probe against HTTP servers on 127.0.0.1: an application that degrades mid-run, one
//! that stops answering, and one that is not there.

use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fis_trigger::probe::{parse_expected, watch, Plan, Tally};

#[path = "support/http_server.rs"]
mod http_server;
use http_server::degrading_server;

fn plan(urls: &[&str], timeout: Duration) -> Plan {
    Plan {
        urls: urls.iter().map(|u| u.parse().expect("url")).collect(),
        expected: parse_expected("2xx").expect("statuses"),
        ratio: 0.95,
        interval: Duration::from_millis(20),
        timeout,
    }
}

fn log(_: &str) {}

async fn probe_for(plan: Plan, run: Duration) -> Vec<Tally> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(watch(plan, stopped, log));
    tokio::time::sleep(run).await;
    stop.send(true).expect("the probe listens");
    task.await.expect("the probe ends")
}

#[tokio::test]
async fn an_application_that_degrades_fails_the_ratio() {
    let (url, served) = degrading_server(3);
    let plan = plan(&[&url], Duration::from_secs(2));
    let tallies = probe_for(plan.clone(), Duration::from_millis(400)).await;
    let tally = &tallies[0];
    assert_eq!(tally.url, url);
    assert!(tally.attempts > 3, "{tally:?}");
    assert_eq!(tally.attempts as usize, served.load(Ordering::SeqCst));
    assert_eq!(tally.successes, 3);
    assert_eq!(tally.answers["503"], tally.attempts - 3);
    assert!(!tally.passed(plan.ratio));
    let text = tally.describe(&plan);
    assert!(
        text.starts_with(&format!("3 of {} answers had status 2xx", tally.attempts)),
        "{text}"
    );
    assert!(text.contains("others: 503 x"), "{text}");
}

#[tokio::test]
async fn a_healthy_application_passes() {
    let (url, _) = degrading_server(usize::MAX);
    let plan = plan(&[&url], Duration::from_secs(2));
    let tallies = probe_for(plan.clone(), Duration::from_millis(200)).await;
    assert!(tallies[0].passed(plan.ratio), "{:?}", tallies[0]);
}

#[tokio::test]
async fn silence_is_a_timeout_and_a_closed_port_a_connection_error() {
    // Accepts connections (the kernel does) but never answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_url = format!("http://{}/", silent.local_addr().expect("addr"));
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_url = format!("http://{}/", closed.local_addr().expect("addr"));
    drop(closed);
    let plan = plan(&[&silent_url, &closed_url], Duration::from_millis(100));
    let tallies = probe_for(plan.clone(), Duration::from_millis(150)).await;
    assert!(
        tallies[0].answers.contains_key("timeout"),
        "{:?}",
        tallies[0]
    );
    assert!(
        tallies[1].answers.contains_key("connection error"),
        "{:?}",
        tallies[1]
    );
    assert!(tallies
        .iter()
        .all(|t| t.successes == 0 && !t.passed(plan.ratio)));
    drop(silent);
}
