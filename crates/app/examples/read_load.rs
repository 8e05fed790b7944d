//! A small concurrent reader for `scripts/bench-hostile`: signs in as a student and reads
//! their results over and over from a few connections, then prints how long the reads took.
//!
//!     read_load BASE_URL USERNAME PASSWORD [--seconds N] [--until FILE] [--concurrency C]
//!
//! Stops after N seconds, or once FILE exists; prints one line:
//! `reads=… errors=… p50_ms=… p99_ms=… max_ms=…`. A read that fails or is not 200 counts as
//! an error (its time is still counted).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (base, user, password) = match args.as_slice() {
        [b, u, p, ..] => (b.clone(), u.clone(), p.clone()),
        _ => {
            eprintln!("usage: read_load BASE_URL USERNAME PASSWORD [--seconds N] [--until FILE] [--concurrency C]");
            std::process::exit(2);
        }
    };
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: Option<u64> = opt("--seconds").map(|s| s.parse().expect("--seconds N"));
    let until: Option<PathBuf> = opt("--until").map(PathBuf::from);
    let concurrency: usize =
        opt("--concurrency").map_or(4, |s| s.parse().expect("--concurrency C"));

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": user, "password": password }))
        .send()
        .await
        .expect("the portal answers")
        .json()
        .await
        .expect("a JSON answer");
    let token = login["token"].as_str().expect("signed in").to_string();
    let url = format!(
        "{base}/api/v1/students/{}/results",
        user.replace('/', "%2F")
    );

    let started = Instant::now();
    let times = Arc::new(Mutex::new(Vec::<f64>::new()));
    let errors = Arc::new(Mutex::new(0u64));
    let stop = move || {
        seconds.is_some_and(|s| started.elapsed() >= Duration::from_secs(s))
            || until.as_ref().is_some_and(|f| f.exists())
    };
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        let (times, errors, stop) = (times.clone(), errors.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop() {
                let t = Instant::now();
                let ok = match client.get(&url).bearer_auth(&token).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                times
                    .lock()
                    .unwrap()
                    .push(t.elapsed().as_secs_f64() * 1000.0);
                if !ok {
                    *errors.lock().unwrap() += 1;
                }
                // A student refreshing, not a flood: the point is the latency of one read.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("a reader task");
    }
    let mut t = times.lock().unwrap().clone();
    t.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if t.is_empty() {
            0.0
        } else {
            t[((t.len() as f64 * p).ceil() as usize).clamp(1, t.len()) - 1]
        }
    };
    println!(
        "reads={} errors={} p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
        t.len(),
        errors.lock().unwrap(),
        pct(0.50),
        pct(0.99),
        t.last().copied().unwrap_or(0.0)
    );
}
