//! The HTTP steady-state check: while the experiment runs, each `--check-url` is requested at
//! a fixed interval, and the share of answers with an expected status must reach the required
//! ratio. A fault that the application absorbs shows as a high ratio; one that takes it down
//! shows as errors and timeouts.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The statuses that count as healthy: `200`, `204`, `2xx`, or several of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected(Vec<(u16, u16)>);

impl Expected {
    pub fn matches(&self, status: u16) -> bool {
        self.0
            .iter()
            .any(|(low, high)| (*low..=*high).contains(&status))
    }
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(low, high)| {
                if low == high {
                    low.to_string()
                } else {
                    format!("{}xx", low / 100)
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// Parses `--check-url-status`: comma-separated codes (`200,204`) or classes (`2xx`).
pub fn parse_expected(text: &str) -> Result<Expected, String> {
    let mut ranges = Vec::new();
    for part in text.split(',').map(str::trim) {
        let range = match part.as_bytes() {
            [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => {
                let low = u16::from(d - b'0') * 100;
                (low, low + 99)
            }
            _ => match part.parse::<u16>() {
                Ok(code) if (100..=599).contains(&code) => (code, code),
                _ => {
                    return Err(format!(
                        "`{part}` is not an HTTP status; use a code such as 200, a class such as 2xx, or several separated by commas"
                    ))
                }
            },
        };
        ranges.push(range);
    }
    Ok(Expected(ranges))
}

/// Parses `--check-url`: an absolute http or https URL.
pub fn parse_url(text: &str) -> Result<Uri, String> {
    let uri: Uri = text
        .parse()
        .map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(uri),
        _ => Err(format!(
            "`{text}` is not an absolute http:// or https:// URL"
        )),
    }
}

/// Parses `--check-url-ratio`: a share of successful probes, 0.95 or 95%.
pub fn parse_ratio(text: &str) -> Result<f64, String> {
    let (number, scale) = match text.strip_suffix('%') {
        Some(percent) => (percent, 100.0),
        None => (text, 1.0),
    };
    match number.trim().parse::<f64>() {
        Ok(n) if (0.0..=scale).contains(&n) => Ok(n / scale),
        _ => Err(format!(
            "`{text}` is not a ratio; use a number from 0 to 1 (0.95) or a percentage (95%)"
        )),
    }
}

/// How the probes ran.
#[derive(Debug, Clone)]
pub struct Plan {
    pub urls: Vec<Uri>,
    pub expected: Expected,
    /// Share of probes that must succeed, 0 to 1.
    pub ratio: f64,
    pub interval: Duration,
    /// Longest wait for one answer; a slower answer counts as a failure.
    pub timeout: Duration,
}

impl Plan {
    /// No URL to probe.
    pub fn none() -> Plan {
        Plan {
            urls: Vec::new(),
            expected: Expected(vec![(200, 299)]),
            ratio: 1.0,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
        }
    }
}

/// What one URL answered over the run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tally {
    pub url: String,
    pub attempts: u32,
    pub successes: u32,
    /// How often each answer came: a status code, `timeout`, or `connection error`.
    pub answers: BTreeMap<String, u32>,
}

impl Tally {
    pub fn share(&self) -> f64 {
        if self.attempts == 0 {
            0.0
        } else {
            f64::from(self.successes) / f64::from(self.attempts)
        }
    }

    /// Passed when enough probes succeeded; no probe at all is no evidence, so it fails.
    pub fn passed(&self, ratio: f64) -> bool {
        self.attempts > 0 && self.share() + 1e-9 >= ratio
    }

    /// `97 of 100 answers had status 200 (97.0%, 95.0% required); others: 503 x3`.
    pub fn describe(&self, plan: &Plan) -> String {
        let mut text = format!(
            "{} of {} answers had status {} ({:.1}%, {:.1}% required)",
            self.successes,
            self.attempts,
            plan.expected,
            self.share() * 100.0,
            plan.ratio * 100.0
        );
        let others: Vec<String> = self
            .answers
            .iter()
            .filter(|(answer, _)| {
                answer
                    .parse::<u16>()
                    .map_or(true, |status| !plan.expected.matches(status))
            })
            .map(|(answer, n)| format!("{answer} x{n}"))
            .collect();
        if !others.is_empty() {
            text.push_str("; others: ");
            text.push_str(&others.join(", "));
        }
        text
    }

    /// The tally in a CodePipeline continuation token: `successes/attempts`.
    pub fn carry(&self) -> String {
        format!("{}/{}", self.successes, self.attempts)
    }

    /// Adds what an earlier invocation counted (`successes/attempts`).
    pub fn resume(&mut self, carried: &str) -> Result<(), String> {
        let bad = || format!("`{carried}` is not a probe tally");
        let (ok, all) = carried.split_once('/').ok_or_else(bad)?;
        let ok: u32 = ok.parse().map_err(|_| bad())?;
        let all: u32 = all.parse().map_err(|_| bad())?;
        if ok > all {
            return Err(bad());
        }
        self.successes += ok;
        self.attempts += all;
        if all > ok {
            *self
                .answers
                .entry("failed in an earlier invocation".into())
                .or_default() += all - ok;
        }
        Ok(())
    }
}

/// Probes every URL each interval until `stop` turns true; always at least once.
pub async fn watch(
    plan: Plan,
    mut stop: tokio::sync::watch::Receiver<bool>,
    log: fn(&str),
) -> Vec<Tally> {
    let https = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
        Ok(builder) => builder.https_or_http().enable_http1().build(),
        Err(e) => {
            log(&format!(
                "--check-url: no TLS root certificates could be loaded ({e}); every probe fails"
            ));
            return plan
                .urls
                .iter()
                .map(|url| Tally {
                    url: url.to_string(),
                    attempts: 1,
                    answers: BTreeMap::from([("no TLS root certificates".to_owned(), 1)]),
                    ..Tally::default()
                })
                .collect();
        }
    };
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let mut tallies: Vec<Tally> = plan
        .urls
        .iter()
        .map(|url| Tally {
            url: url.to_string(),
            ..Tally::default()
        })
        .collect();
    let mut last: Vec<Option<String>> = vec![None; plan.urls.len()];
    loop {
        for (i, url) in plan.urls.iter().enumerate() {
            let request = hyper::Request::get(url.clone())
                .header(
                    "user-agent",
                    concat!("fis-trigger/", env!("CARGO_PKG_VERSION")),
                )
                .body(Empty::new());
            let answer = match request {
                Err(e) => format!("bad request: {e}"),
                Ok(request) => {
                    match tokio::time::timeout(plan.timeout, client.request(request)).await {
                        Err(_) => "timeout".to_owned(),
                        Ok(Err(_)) => "connection error".to_owned(),
                        Ok(Ok(response)) => response.status().as_u16().to_string(),
                    }
                }
            };
            let healthy = answer
                .parse::<u16>()
                .is_ok_and(|status| plan.expected.matches(status));
            let tally = &mut tallies[i];
            tally.attempts += 1;
            if healthy {
                tally.successes += 1;
            }
            *tally.answers.entry(answer.clone()).or_default() += 1;
            // A line when the answer changes, not one per probe.
            if last[i].as_deref() != Some(answer.as_str()) {
                log(&format!(
                    "probe {url}: {answer}{}",
                    if healthy { "" } else { " (unhealthy)" }
                ));
                last[i] = Some(answer);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(plan.interval) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
        if *stop.borrow() {
            break;
        }
    }
    tallies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_codes_or_classes() {
        let expected = parse_expected("200, 3xx").unwrap();
        assert!(expected.matches(200));
        assert!(expected.matches(302));
        assert!(!expected.matches(204));
        assert_eq!(expected.to_string(), "200,3xx");
        assert!(parse_expected("ok")
            .unwrap_err()
            .contains("`ok` is not an HTTP status"));
        assert!(parse_expected("700").is_err());
    }

    #[test]
    fn ratios_are_shares_or_percentages() {
        assert_eq!(parse_ratio("0.9").unwrap(), 0.9);
        assert_eq!(parse_ratio("95%").unwrap(), 0.95);
        assert!(parse_ratio("1.5").is_err());
        assert!(parse_ratio("many").is_err());
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(parse_url("https://shop.example.com/health").is_ok());
        assert!(parse_url("shop.example.com/health").is_err());
        assert!(parse_url("ftp://shop.example.com/").is_err());
    }

    #[test]
    fn no_probe_is_no_evidence_and_tallies_carry_over() {
        let mut tally = Tally::default();
        assert!(!tally.passed(0.0));
        tally.resume("9/10").unwrap();
        assert!(tally.passed(0.9));
        assert!(!tally.passed(0.95));
        assert_eq!(tally.carry(), "9/10");
        assert!(tally.resume("3/2").is_err());
    }
}
