//! The parts of `scripts/bench-results-day` that wrk cannot do: the login storm, the hash
//! pool's own rate, and a probe that times each kind of answer during a wrk run.
//!
//!     results_day hash-alone [--workers N] [--seconds S]
//!     results_day storm BASE_URL STUDENTS_FILE [--count N] [--password P] [--tokens OUT]
//!     results_day probe BASE_URL TOKENS_FILE [--seconds S] [--concurrency C]
//!
//! `hash-alone` verifies a password on the portal's own hash pool (argon2id at the portal's
//! parameters, `N` workers, 0 = one per core) as fast as it can, with nothing else running:
//! the most sign-ins a second the pool can admit. It prints one line,
//! `hash_alone workers=… verifies=… seconds=… per_second=…`.
//!
//! `storm` sends `N` sign-ins at once (each on its own connection), one per student of the
//! file (one matric number per line), times every answer, and sends each student who was told
//! to come back (`503` with `Retry-After`) again when told, until every one is in. It prints
//! `storm …` lines: the first wave's answers and their latency, then all attempts, the time
//! until the last was admitted and the admitted sign-ins a second; and writes
//! `matric<TAB>token` lines to OUT for the readers that follow.
//!
//! `probe` reads the results of the students in TOKENS_FILE from `C` connections of its own
//! while another load runs, and prints the latency of the admitted reads and of the refusals
//! separately, and how many refusals lacked `Retry-After` (wrk counts answers but cannot tell
//! their latencies apart).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn usage() -> ! {
    eprintln!(
        "usage:\n  results_day hash-alone [--workers N] [--seconds S]\n  results_day storm BASE_URL STUDENTS_FILE [--count N] [--password P] [--tokens OUT]\n  results_day probe BASE_URL TOKENS_FILE [--seconds S] [--concurrency C]"
    );
    std::process::exit(2)
}

struct Args(Vec<String>);

impl Args {
    fn positional(&self, i: usize) -> String {
        self.0
            .iter()
            .take_while(|a| !a.starts_with("--"))
            .nth(i)
            .cloned()
            .unwrap_or_else(|| usage())
    }
    fn opt<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        match self.0.iter().position(|a| a == name) {
            None => default,
            Some(i) => self
                .0
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage()),
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() {
        usage();
    }
    let command = argv.remove(0);
    let args = Args(argv);
    match command.as_str() {
        "hash-alone" => hash_alone(&args).await,
        "storm" => storm(&args).await,
        "probe" => probe(&args).await,
        _ => usage(),
    }
}

/// Percentile `p` (0–1) of sorted milliseconds.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn hash_alone(args: &Args) {
    use eportal::services::auth::{hash_password_blocking, verify_blocking};
    use eportal::services::hash_pool::HashPool;
    let workers: usize = args.opt("--workers", 0);
    let seconds: f64 = args.opt("--seconds", 10.0);
    // Nobody is turned away: the pool is measured at full speed, as busy as it can be.
    let pool = Arc::new(HashPool::new(
        workers,
        usize::MAX,
        Duration::from_secs(3600),
    ));
    let phc = Arc::new(hash_password_blocking("demo1234"));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    // Twice as many callers as workers, so a worker never waits for the next caller.
    for _ in 0..pool.workers() * 2 {
        let (pool, phc) = (pool.clone(), phc.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let phc = phc.clone();
                let ok = pool
                    .run(move || verify_blocking("demo1234", &phc))
                    .await
                    .expect("an unbounded pool admits every caller");
                assert!(ok, "the password verifies");
                n += 1;
            }
            n
        }));
    }
    let mut verifies = 0;
    for t in tasks {
        verifies += t.await.expect("a hashing task");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "hash_alone workers={} verifies={verifies} seconds={secs:.2} per_second={:.1}",
        pool.workers(),
        verifies as f64 / secs
    );
}

/// One sign-in's answer.
struct Attempt {
    /// Since the storm began, when it was sent and answered.
    sent_ms: f64,
    answered_ms: f64,
    status: u16,
    retry_after: Option<u64>,
    token: Option<String>,
}

async fn sign_in(
    client: &reqwest::Client,
    url: &str,
    matric: &str,
    password: &str,
    t0: Instant,
) -> Attempt {
    let sent_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let body = serde_json::json!({ "username": matric, "password": password });
    let (status, retry_after, token) = match client.post(url).json(&body).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            let token = match r.json::<serde_json::Value>().await {
                Ok(v) if status == 200 => v["token"].as_str().map(str::to_string),
                _ => None,
            };
            (status, retry_after, token)
        }
        Err(_) => (0, None, None),
    };
    Attempt {
        sent_ms,
        answered_ms: t0.elapsed().as_secs_f64() * 1000.0,
        status,
        retry_after,
        token,
    }
}

fn counts(attempts: &[&Attempt]) -> String {
    let mut by: BTreeMap<u16, u64> = BTreeMap::new();
    for a in attempts {
        *by.entry(a.status).or_default() += 1;
    }
    by.iter()
        .map(|(s, n)| {
            if *s == 0 {
                format!("no_answer:{n}")
            } else {
                format!("{s}:{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

async fn storm(args: &Args) {
    let base = args.positional(0);
    let file = args.positional(1);
    let count: usize = args.opt("--count", 5000);
    let password: String = args.opt("--password", "demo1234".to_string());
    let out: String = args.opt("--tokens", String::new());
    let students: Vec<String> = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read {file}: {e}"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(count)
        .map(str::to_string)
        .collect();
    assert!(
        students.len() == count,
        "{file} names {} students, not {count}",
        students.len()
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let url = format!("{base}/api/v1/auth/login");
    let t0 = Instant::now();
    let attempts = Arc::new(Mutex::new(Vec::<(usize, u32, Attempt)>::new()));
    let mut tasks = Vec::new();
    for (i, matric) in students.iter().cloned().enumerate() {
        let (client, url, password, attempts) = (
            client.clone(),
            url.clone(),
            password.clone(),
            attempts.clone(),
        );
        tasks.push(tokio::spawn(async move {
            // Comes back when told to, as the sign-in page does, until admitted.
            for wave in 0..60u32 {
                let a = sign_in(&client, &url, &matric, &password, t0).await;
                let again = match (a.status, a.retry_after) {
                    (503 | 429, Some(secs)) => Some(secs),
                    _ => None,
                };
                attempts.lock().unwrap().push((i, wave, a));
                match again {
                    Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
                    None => break,
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("a sign-in task");
    }
    let attempts = std::mem::take(&mut *attempts.lock().unwrap());
    let first: Vec<&Attempt> = attempts
        .iter()
        .filter(|(_, w, _)| *w == 0)
        .map(|(_, _, a)| a)
        .collect();
    let all: Vec<&Attempt> = attempts.iter().map(|(_, _, a)| a).collect();
    let latency = |xs: &[&Attempt]| {
        let mut ms: Vec<f64> = xs.iter().map(|a| a.answered_ms - a.sent_ms).collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let first_ms = latency(&first);
    let all_ms = latency(&all);
    let within = |ms: &[f64]| ms.iter().filter(|m| **m <= 1000.0).count();
    let admitted: Vec<&Attempt> = all.iter().copied().filter(|a| a.status == 200).collect();
    let last_admitted_ms = admitted
        .iter()
        .map(|a| a.answered_ms)
        .fold(0.0f64, f64::max);
    let refused_without_retry = all
        .iter()
        .filter(|a| matches!(a.status, 429 | 503) && a.retry_after.is_none())
        .count();
    println!(
        "storm first_wave sign_ins={} answered_within_1s={} statuses={} p50_ms={:.0} p99_ms={:.0} max_ms={:.0}",
        first.len(),
        within(&first_ms),
        counts(&first),
        pct(&first_ms, 0.5),
        pct(&first_ms, 0.99),
        first_ms.last().copied().unwrap_or(0.0)
    );
    println!(
        "storm all_attempts attempts={} answered_within_1s={} statuses={} refused_without_retry_after={refused_without_retry} p99_ms={:.0} max_ms={:.0}",
        all.len(),
        within(&all_ms),
        counts(&all),
        pct(&all_ms, 0.99),
        all_ms.last().copied().unwrap_or(0.0)
    );
    println!(
        "storm admitted students={} of={} last_admitted_s={:.2} admitted_per_second={:.1}",
        admitted.len(),
        students.len(),
        last_admitted_ms / 1000.0,
        admitted.len() as f64 / (last_admitted_ms / 1000.0).max(1e-3)
    );
    // Admitted each second of the storm: how evenly the pool was kept busy.
    let mut per_second = vec![0u32; (last_admitted_ms / 1000.0) as usize + 1];
    for a in &admitted {
        per_second[(a.answered_ms / 1000.0) as usize] += 1;
    }
    println!(
        "storm admitted_each_second {}",
        per_second
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    // Every attempt, for a closer look at how the storm came back (ATTEMPTS=file).
    if let Ok(path) = std::env::var("ATTEMPTS") {
        let mut text = String::from("student\twave\tsent_ms\tanswered_ms\tstatus\tretry_after\n");
        for (i, w, a) in &attempts {
            text.push_str(&format!(
                "{i}\t{w}\t{:.1}\t{:.1}\t{}\t{}\n",
                a.sent_ms,
                a.answered_ms,
                a.status,
                a.retry_after.map_or(String::new(), |s| s.to_string())
            ));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    }
    if !out.is_empty() {
        let mut text = String::new();
        for (i, _, a) in &attempts {
            if let Some(t) = &a.token {
                text.push_str(&format!("{}\t{t}\n", students[*i]));
            }
        }
        std::fs::write(&out, text).unwrap_or_else(|e| panic!("cannot write {out}: {e}"));
    }
}

async fn probe(args: &Args) {
    let base = args.positional(0);
    let file = args.positional(1);
    let seconds: f64 = args.opt("--seconds", 10.0);
    let concurrency: usize = args.opt("--concurrency", 4);
    let pairs: Vec<(String, String)> = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read {file}: {e}"))
        .lines()
        .filter_map(|l| {
            let (m, t) = l.split_once('\t')?;
            Some((m.replace('/', "%2F"), t.to_string()))
        })
        .collect();
    assert!(!pairs.is_empty(), "{file} holds no tokens");
    let pairs = Arc::new(pairs);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    // (status, milliseconds, had Retry-After)
    let seen = Arc::new(Mutex::new(Vec::<(u16, f64, bool)>::new()));
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let (client, base, pairs, seen) =
            (client.clone(), base.clone(), pairs.clone(), seen.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while Instant::now() < deadline {
                let (matric, token) = &pairs[i % pairs.len()];
                i += concurrency;
                let t = Instant::now();
                let url = format!("{base}/api/v1/students/{matric}/results");
                let (status, retry) = match client.get(&url).bearer_auth(token).send().await {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let retry = r.headers().contains_key("retry-after");
                        let _ = r.bytes().await;
                        (s, retry)
                    }
                    Err(_) => (0, false),
                };
                seen.lock()
                    .unwrap()
                    .push((status, t.elapsed().as_secs_f64() * 1000.0, retry));
                // A reader among the crowd, not a crowd of its own.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("a probe task");
    }
    let seen = seen.lock().unwrap();
    let mut ok: Vec<f64> = seen.iter().filter(|s| s.0 == 200).map(|s| s.1).collect();
    let mut refused: Vec<f64> = seen
        .iter()
        .filter(|s| matches!(s.0, 429 | 503))
        .map(|s| s.1)
        .collect();
    ok.sort_by(f64::total_cmp);
    refused.sort_by(f64::total_cmp);
    let without_retry = seen
        .iter()
        .filter(|s| matches!(s.0, 429 | 503) && !s.2)
        .count();
    let other = seen.len() - ok.len() - refused.len();
    println!(
        "probe reads={} admitted={} admitted_p50_ms={:.2} admitted_p99_ms={:.2} refused={} refused_p50_ms={:.2} refused_p99_ms={:.2} refused_max_ms={:.2} refused_without_retry_after={without_retry} other={other}",
        seen.len(),
        ok.len(),
        pct(&ok, 0.5),
        pct(&ok, 0.99),
        refused.len(),
        pct(&refused, 0.5),
        pct(&refused, 0.99),
        refused.last().copied().unwrap_or(0.0),
    );
}
