//! Redis adapter: the shared [`Cache`] of the distributed deployment, and the counters behind
//! its rate limits, which every portal process using the same Redis shares.
//!
//! A cache must never slow the portal down: every call is bounded by `op_timeout` (250 ms by
//! default) and a dead or hung Redis fails fast as [`PortError::Unavailable`], which callers
//! treat as "read the store". The connection is a redis-rs `ConnectionManager`, which
//! reconnects by itself once Redis is back. Errors name Redis and its address but must never
//! show the password in the URL.
//!
//! Keys live under the prefix given at connect time: values at `{prefix}:v:{key}`, rate-limit
//! counters at `{prefix}:h:{key}`, so deployments (and tests) sharing one Redis never meet.
//! A rate-limit window starts at a key's first hit and lasts `window` on Redis's own clock,
//! so the processes sharing a counter need not agree on the time. GCRA rate limits
//! ([`RateLimits`]) keep one timestamp per key at `{prefix}:r:{key}`, also on Redis's clock.

mod address;

use async_trait::async_trait;
use eportal_ports::error::{PortError, PortResult};
use eportal_ports::rate::{Decision, Quota};
use eportal_ports::{Cache, RateLimits};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisResult, Script};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

const ENGINE: &str = "redis";

/// How long one cache call may take before it is given up as unavailable.
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_millis(250);

/// Longer TTLs are cut to this: nothing in a cache is worth keeping for a year.
const MAX_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// Counts a hit and starts the window's clock on the first one, in one atomic step: two
/// separate commands could leave a counter without expiry (and a client blocked for good) if
/// the connection dropped in between. A counter found without a TTL gets one too.
const HIT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
";

/// GCRA in one atomic step, on Redis's own clock (microseconds): the key holds the
/// theoretical arrival time (TAT) of the next request; a request is admitted if now is no
/// earlier than TAT less the burst's tolerance, and moves the TAT on by one interval. The key
/// expires once the TAT has passed (a key that is gone and a key whose TAT has passed mean
/// the same thing: a full burst). Returns 0 when admitted, else the microseconds to wait.
/// ARGV: interval µs, tolerance µs (interval × (burst − 1)).
const GCRA_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then
  return allow_at - now
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return 0
";

/// The Redis [`Cache`]. Cheap to clone: clones share one connection.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
    op_timeout: Duration,
    /// The URL as it may be shown (no password).
    shown: String,
    hit_script: Arc<Script>,
    gcra_script: Arc<Script>,
}

impl RedisCache {
    /// Connects to the Redis at `url`, failing with an error that names Redis and the URL
    /// (without its password) if it does not answer now.
    pub async fn connect(url: &str, prefix: &str, op_timeout: Duration) -> PortResult<Self> {
        let shown = address::shown(url);
        let client = redis::Client::open(url)
            .map_err(|e| PortError::Invalid(format!("{shown} is not a usable Redis URL: {e}")))?;
        // Opening a TCP connection may take longer than a command on a busy network, but a
        // blackholed address must still give up quickly.
        let connect_timeout = (op_timeout * 4).max(Duration::from_secs(1));
        let config = ConnectionManagerConfig::new()
            // Reconnect attempts are made on demand by the next call after a failure, at
            // most one at a time; the manager's own retries would sleep for seconds.
            .set_number_of_retries(0)
            .set_connection_timeout(connect_timeout)
            .set_response_timeout(op_timeout);
        let unreachable = |why: String| {
            PortError::unavailable(ENGINE, format!("cannot reach Redis at {shown}: {why}"))
        };
        let conn = tokio::time::timeout(
            connect_timeout * 2,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| unreachable(format!("no answer within {:?}", connect_timeout * 2)))?
        .map_err(|e| unreachable(e.to_string()))?;

        let cache = RedisCache {
            conn,
            prefix: prefix.to_owned(),
            op_timeout,
            shown: shown.clone(),
            hit_script: Arc::new(Script::new(HIT_SCRIPT)),
            gcra_script: Arc::new(Script::new(GCRA_SCRIPT)),
        };
        match cache.ping().await {
            Err(PortError::Unavailable { message, .. }) => Err(unreachable(message)),
            other => other,
        }?;
        Ok(cache)
    }

    fn value_key(&self, key: &str) -> String {
        format!("{}:v:{key}", self.prefix)
    }

    fn counter_key(&self, key: &str) -> String {
        format!("{}:h:{key}", self.prefix)
    }

    fn rate_key(&self, key: &str) -> String {
        format!("{}:r:{key}", self.prefix)
    }

    /// Runs one Redis call within the operation timeout; every failure is "unavailable".
    async fn bounded<T>(
        &self,
        what: &str,
        call: impl Future<Output = RedisResult<T>>,
    ) -> PortResult<T> {
        match tokio::time::timeout(self.op_timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(PortError::unavailable(
                ENGINE,
                format!("{what} at {} failed: {e}", self.shown),
            )),
            Err(_) => Err(PortError::unavailable(
                ENGINE,
                format!(
                    "{what} at {} got no answer within {:?}",
                    self.shown, self.op_timeout
                ),
            )),
        }
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis().try_into().unwrap_or(u64::MAX)
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> PortResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("GET").arg(self.value_key(key)).to_owned();
        self.bounded("GET", cmd.query_async(&mut conn)).await
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> PortResult<()> {
        let ms = millis(ttl.min(MAX_TTL));
        if ms == 0 {
            // Redis refuses PX 0; nothing may be kept for zero time, nor an older value.
            return self.delete(&[key.to_owned()]).await;
        }
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("SET")
            .arg(self.value_key(key))
            .arg(value)
            .arg("PX")
            .arg(ms)
            .to_owned();
        self.bounded("SET", cmd.query_async::<()>(&mut conn)).await
    }

    async fn delete(&self, keys: &[String]) -> PortResult<()> {
        if keys.is_empty() {
            // DEL with no key is a Redis syntax error.
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("DEL");
        for key in keys {
            cmd.arg(self.value_key(key));
        }
        self.bounded("DEL", cmd.query_async::<u64>(&mut conn))
            .await
            .map(drop)
    }

    async fn hit(&self, key: &str, window: Duration) -> PortResult<u64> {
        let mut conn = self.conn.clone();
        let mut invocation = self.hit_script.prepare_invoke();
        invocation
            .key(self.counter_key(key))
            .arg(millis(window.min(MAX_TTL)).max(1));
        self.bounded("INCR", invocation.invoke_async(&mut conn))
            .await
    }

    async fn ping(&self) -> PortResult<()> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("PING");
        self.bounded("PING", cmd.query_async::<String>(&mut conn))
            .await
            .map(drop)
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().try_into().unwrap_or(u64::MAX)
}

#[async_trait]
impl RateLimits for RedisCache {
    async fn admit(&self, key: &str, quota: Quota) -> PortResult<Decision> {
        let interval = micros(quota.interval().min(MAX_TTL)).max(1);
        let tolerance = interval.saturating_mul(u64::from(quota.burst.get()) - 1);
        let mut conn = self.conn.clone();
        let mut invocation = self.gcra_script.prepare_invoke();
        invocation
            .key(self.rate_key(key))
            .arg(interval)
            .arg(tolerance);
        let wait: u64 = self
            .bounded("GCRA", invocation.invoke_async(&mut conn))
            .await?;
        Ok(match wait {
            0 => Decision::Admitted,
            us => Decision::Refused {
                retry_after: Duration::from_micros(us),
            },
        })
    }
}
