//! Rate limits, the Commerce Layer way: a sliding window per client address for each kind of
//! request (token endpoint, API reads, API writes), told in `X-Ratelimit-Limit`,
//! `X-Ratelimit-Interval` (seconds) and `X-Ratelimit-Remaining` on every response, and 429 with
//! `Retry-After` past the limit. Failed client authentications are limited per client id as
//! well, so a guessed-at client costs its guesser, not the argon2 pool.
//!
//! The window is the sliding-window counter (the previous fixed window's count, weighted by how
//! much of it still overlaps, plus the current one's): two numbers a key, smooth at window
//! edges. The counts live in this process, so behind a load balancer each instance counts its
//! own share, unless `RATE_LIMIT_URL` names a Redis server: then every instance counts in it
//! (one script call a request, windows aligned on the Unix clock), and an instance that cannot
//! reach it counts alone until it can again.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::{header, Method, StatusCode};
use actix_web::HttpResponse;
use ipnet::IpNet;

use crate::error::ApiError;
use crate::http::oauth::error::OAuthError;

/// At most `count` requests in any `interval`; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub count: u32,
    pub interval: Duration,
}

impl FromStr for Limit {
    type Err = String;

    /// `30/60`: 30 requests per 60 seconds.
    fn from_str(text: &str) -> Result<Limit, String> {
        let (count, seconds) = text.split_once('/').ok_or("a limit reads <requests>/<seconds>, such as 30/60")?;
        let count: u32 = count.trim().parse().map_err(|_| format!("{count:?} is not a number of requests"))?;
        let seconds: u64 = seconds.trim().parse().map_err(|_| format!("{seconds:?} is not a number of seconds"))?;
        if count == 0 || !(1..=86_400).contains(&seconds) {
            return Err("a limit needs at least 1 request, and 1 to 86400 seconds".into());
        }
        Ok(Limit { count, interval: Duration::from_secs(seconds) })
    }
}

/// A setting: `off`, or a `Limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimit(pub Option<Limit>);

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<RateLimit, String> {
        if text.trim().eq_ignore_ascii_case("off") {
            Ok(RateLimit(None))
        } else {
            text.parse().map(|limit| RateLimit(Some(limit)))
        }
    }
}

/// What one request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: Limit,
    pub remaining: u32,
    /// Seconds until a request would be allowed again (0 when allowed).
    pub retry_after: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    /// The index of the current fixed window (seconds since start / interval).
    index: u64,
    current: u32,
    previous: u32,
}

impl Window {
    /// Moves the window to `index`, dropping what fell out of it.
    fn at(self, index: u64) -> Window {
        match index.saturating_sub(self.index) {
            0 => self,
            1 => Window { index, current: 0, previous: self.current },
            _ => Window { index, current: 0, previous: 0 },
        }
    }

    /// The estimated count over the last interval, at `fraction` of the way into the window.
    fn estimate(&self, fraction: f64) -> f64 {
        self.previous as f64 * (1.0 - fraction) + self.current as f64
    }
}

/// Sliding-window counters, one a key.
pub struct SlidingWindows<K> {
    started: Instant,
    entries: Mutex<HashMap<K, Window>>,
    max_entries: usize,
}

impl<K: Hash + Eq + Clone> SlidingWindows<K> {
    pub fn new(max_entries: usize) -> Self {
        SlidingWindows { started: Instant::now(), entries: Mutex::new(HashMap::new()), max_entries }
    }

    fn elapsed(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.started).as_secs_f64()
    }

    /// Counts one request of `key`, unless it is over the limit (a refused request is not
    /// counted, so a client that waits as told gets through).
    pub fn hit(&self, key: &K, limit: &Limit, now: Instant) -> Decision {
        let elapsed = self.elapsed(now);
        let (index, fraction) = position(limit, elapsed);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.max_entries && !entries.contains_key(key) {
            entries.retain(|_, w| index.saturating_sub(w.index) <= 1);
        }
        let window = entries.get(key).copied().unwrap_or(Window { index, current: 0, previous: 0 }).at(index);
        if !admits(window.estimate(fraction), limit) {
            entries.insert(key.clone(), window);
            return decide(window, limit, elapsed, false);
        }
        let counted = Window { current: window.current + 1, ..window };
        entries.insert(key.clone(), counted);
        decide(counted, limit, elapsed, true)
    }

    /// Whether `key` is at its limit now, counting nothing.
    pub fn check(&self, key: &K, limit: &Limit, now: Instant) -> Decision {
        let elapsed = self.elapsed(now);
        let (index, _) = position(limit, elapsed);
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let window = entries.get(key).copied().unwrap_or(Window { index, current: 0, previous: 0 }).at(index);
        decide(window, limit, elapsed, false)
    }
}

/// Where a moment `elapsed` seconds from the windows' origin falls for `limit`: the window
/// index and how far into it.
fn position(limit: &Limit, elapsed: f64) -> (u64, f64) {
    let interval = limit.interval.as_secs_f64();
    ((elapsed / interval) as u64, (elapsed % interval) / interval)
}

/// `counted`: the request was admitted (and counted). Otherwise the decision is whether one
/// more would be admitted now, by the rule `hit` applies: the estimate with it is within the
/// count.
fn decide(window: Window, limit: &Limit, elapsed: f64, counted: bool) -> Decision {
    let (_, fraction) = position(limit, elapsed);
    let estimate = window.estimate(fraction);
    let allowed = counted || admits(estimate, limit);
    let remaining = (limit.count as f64 - estimate).floor().max(0.0) as u32;
    let retry_after = if allowed { 0 } else { retry_after(window, limit, elapsed) };
    Decision { allowed, limit: *limit, remaining, retry_after }
}

/// Whether one more request fits beside `estimate`.
fn admits(estimate: f64, limit: &Limit) -> bool {
    estimate + 1.0 <= limit.count as f64
}

/// The whole seconds until one more request would be admitted, with nothing more counted.
fn retry_after(window: Window, limit: &Limit, elapsed: f64) -> u64 {
    let most = 2 * limit.interval.as_secs().max(1);
    (1..=most)
        .find(|&s| {
            let (index, fraction) = position(limit, elapsed + s as f64);
            admits(window.at(index).estimate(fraction), limit)
        })
        .unwrap_or(most)
}

/// The same windows in Redis, shared by every instance that names it. One script call counts
/// (or only reads) a key's window and returns both halves, so instances never race.
pub struct SharedWindows {
    connection: redis::aio::ConnectionManager,
    prefix: String,
    script: redis::Script,
}

/// KEYS: the current and the previous window's counters. ARGV: whether to count, the previous
/// window's weight, the limit, the counters' lifetime in ms.
const SHARED_HIT: &str = r#"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local counted = 0
if ARGV[1] == '1' and previous * tonumber(ARGV[2]) + current + 1 <= tonumber(ARGV[3]) then
  current = redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  counted = 1
end
return {current, previous, counted}
"#;

impl SharedWindows {
    /// Connects to `url` (`redis://host:6379/0`); keys start with `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<SharedWindows, String> {
        let client = redis::Client::open(url).map_err(|e| format!("RATE_LIMIT_URL: {e}"))?;
        let connection = redis::aio::ConnectionManager::new(client)
            .await
            .map_err(|e| format!("RATE_LIMIT_URL: connecting to Redis: {e}"))?;
        Ok(SharedWindows { connection, prefix: prefix.to_string(), script: redis::Script::new(SHARED_HIT) })
    }

    /// Counts (`count`) or reads one request of `key` against `limit`.
    async fn hit(&self, key: &str, limit: &Limit, count: bool) -> redis::RedisResult<Decision> {
        let elapsed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        let (index, fraction) = position(limit, elapsed);
        let seconds = limit.interval.as_secs();
        let counter = |index: u64| format!("{}:{key}:{}/{seconds}:{index}", self.prefix, limit.count);
        let (current, previous, counted): (u32, u32, u8) = self
            .script
            .key(counter(index))
            .key(counter(index.saturating_sub(1)))
            .arg(if count { "1" } else { "0" })
            .arg(1.0 - fraction)
            .arg(limit.count)
            .arg(2 * seconds * 1000)
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(decide(Window { index, current, previous }, limit, elapsed, counted == 1))
    }
}

/// Which limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Client authentication: `POST /oauth/*`.
    Token,
    /// `GET`/`HEAD` of the API and discovery.
    Reads,
    /// Every other method on the API.
    Writes,
}

impl Bucket {
    /// Its name in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Bucket::Token => "token",
            Bucket::Reads => "reads",
            Bucket::Writes => "writes",
        }
    }

    pub fn of(method: &Method, path: &str) -> Bucket {
        match (method, path.starts_with("/oauth/")) {
            (&Method::GET | &Method::HEAD | &Method::OPTIONS, _) => Bucket::Reads,
            (_, true) => Bucket::Token,
            _ => Bucket::Writes,
        }
    }
}

/// The limits of this service and their counters.
pub struct RateLimits {
    pub token: Option<Limit>,
    pub reads: Option<Limit>,
    pub writes: Option<Limit>,
    /// Failed client authentications per client id.
    pub client_failures: Option<Limit>,
    pub trusted_proxies: Vec<IpNet>,
    by_address: SlidingWindows<(Bucket, IpAddr)>,
    failures: SlidingWindows<String>,
    shared: Option<SharedWindows>,
}

impl RateLimits {
    pub fn new(
        token: RateLimit,
        reads: RateLimit,
        writes: RateLimit,
        client_failures: RateLimit,
        trusted_proxies: Vec<IpNet>,
    ) -> RateLimits {
        RateLimits {
            token: token.0,
            reads: reads.0,
            writes: writes.0,
            client_failures: client_failures.0,
            trusted_proxies,
            by_address: SlidingWindows::new(1_000_000),
            failures: SlidingWindows::new(1_000_000),
            shared: None,
        }
    }

    /// Counts in Redis from now on, with every other instance that does.
    pub fn shared(self, windows: SharedWindows) -> RateLimits {
        RateLimits { shared: Some(windows), ..self }
    }

    /// Counts or reads `key` in Redis when limits are shared and it answers; `None` otherwise
    /// (then this instance counts alone, and says so once in a while).
    async fn in_shared(&self, key: &str, limit: &Limit, count: bool) -> Option<Decision> {
        let shared = self.shared.as_ref()?;
        match shared.hit(key, limit, count).await {
            Ok(decision) => Some(decision),
            Err(error) => {
                tracing::warn!(%error, "RATE_LIMIT_URL unreachable: this instance counts alone");
                None
            }
        }
    }

    /// Counts one request of `bucket` from `ip`.
    pub async fn hit(&self, bucket: Bucket, ip: IpAddr, limit: Limit) -> Decision {
        match self.in_shared(&format!("{bucket:?}:{ip}"), &limit, true).await {
            Some(decision) => decision,
            None => self.by_address.hit(&(bucket, ip), &limit, Instant::now()),
        }
    }

    /// The client's address: the peer, unless the peer is a trusted proxy; then the nearest
    /// address in `X-Forwarded-For` that is not one (RFC 7239 §5.2's reading, right to left).
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer?;
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return Some(peer);
        }
        let mut client = peer;
        for hop in forwarded_for.unwrap_or("").rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else { break };
            client = ip;
            if !trusted(&ip) {
                break;
            }
        }
        Some(client)
    }

    pub fn limit(&self, bucket: Bucket) -> Option<Limit> {
        match bucket {
            Bucket::Token => self.token,
            Bucket::Reads => self.reads,
            Bucket::Writes => self.writes,
        }
    }

    /// Whether this client id may try a secret now (failures under their limit).
    pub async fn may_try(&self, client_id: &str) -> Result<(), Decision> {
        let Some(limit) = self.client_failures else { return Ok(()) };
        let decision = match self.in_shared(&format!("failures:{client_id}"), &limit, false).await {
            Some(decision) => decision,
            None => self.failures.check(&client_id.to_string(), &limit, Instant::now()),
        };
        if decision.allowed {
            Ok(())
        } else {
            Err(decision)
        }
    }

    /// Counts a failed authentication of `client_id`.
    pub async fn failed(&self, client_id: &str) {
        if let Some(limit) = self.client_failures {
            if self.in_shared(&format!("failures:{client_id}"), &limit, true).await.is_none() {
                self.failures.hit(&client_id.to_string(), &limit, Instant::now());
            }
        }
    }
}

pub fn set_headers(headers: &mut header::HeaderMap, decision: &Decision) {
    let number = |n: u64| header::HeaderValue::from(n);
    headers.insert(header::HeaderName::from_static("x-ratelimit-limit"), number(decision.limit.count as u64));
    headers.insert(header::HeaderName::from_static("x-ratelimit-interval"), number(decision.limit.interval.as_secs()));
    headers.insert(header::HeaderName::from_static("x-ratelimit-remaining"), number(decision.remaining as u64));
}

/// The 429 of a request past its limit: an OAuth error on `/oauth/*`, a JSON:API one elsewhere.
pub fn too_many(path: &str, decision: &Decision) -> HttpResponse {
    let detail = format!(
        "Too many requests: at most {} every {} seconds. Retry in {} seconds.",
        decision.limit.count,
        decision.limit.interval.as_secs(),
        decision.retry_after
    );
    let mut response = if path.starts_with("/oauth/") {
        OAuthError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", detail).response()
    } else {
        actix_web::ResponseError::error_response(&ApiError::TooManyRequests(detail))
    };
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(decision.retry_after.max(1)));
    set_headers(response.headers_mut(), decision);
    response
}

/// `TRUSTED_PROXIES`: addresses and CIDR ranges, comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(text: &str) -> Result<TrustedProxies, String> {
        parse_proxies(text).map(TrustedProxies)
    }
}

pub fn parse_proxies(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("TRUSTED_PROXIES: {s:?} is not an address or a CIDR range"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(count: u32, seconds: u64) -> Limit {
        Limit { count, interval: Duration::from_secs(seconds) }
    }

    #[test]
    fn limits_read_requests_over_seconds() {
        assert_eq!("30/60".parse::<Limit>(), Ok(limit(30, 60)));
        assert_eq!("off".parse::<RateLimit>(), Ok(RateLimit(None)));
        for bad in ["30", "0/60", "30/0", "x/60", "30/100000"] {
            assert!(bad.parse::<Limit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_window_allows_its_count_then_refuses_then_slides() {
        let windows = SlidingWindows::new(100);
        let start = windows.started;
        let ten = limit(10, 60);
        for i in 0..10 {
            let decision = windows.hit(&"a", &ten, start);
            assert!(decision.allowed, "request {i}");
            assert_eq!(decision.remaining, 9 - i);
        }
        let refused = windows.hit(&"a", &ten, start + Duration::from_secs(1));
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        // All ten fell in the first window: one more fits once the estimate is down to nine,
        // a tenth into the next window (66 s from the start), and then it keeps sliding.
        assert_eq!(refused.retry_after, 65);
        assert!(windows.hit(&"b", &ten, start).allowed, "keys count apart");
        // Half into the next window half of the ten still count: five more fit.
        let half = start + Duration::from_secs(90);
        let allowed = (0..10).filter(|_| windows.hit(&"a", &ten, half).allowed).count();
        assert_eq!(allowed, 5);
        // Two windows later nothing counts.
        assert!(windows.check(&"a", &ten, start + Duration::from_secs(180)).allowed);
    }

    #[test]
    fn a_refusal_while_the_previous_window_still_weighs_is_a_refusal() {
        // The estimate is not whole here: 10 × (1 − 0.05) + 0 = 9.5 just after the next window
        // starts. One more would make 10.5: refused, and told so (this once let requests
        // through uncounted, so nothing was ever refused again until the weight faded).
        let windows = SlidingWindows::new(100);
        let start = windows.started;
        let ten = limit(10, 20);
        for _ in 0..10 {
            assert!(windows.hit(&"a", &ten, start).allowed);
        }
        let next = start + Duration::from_secs(21);
        let decisions: Vec<_> = (0..30).map(|_| windows.hit(&"a", &ten, next)).collect();
        assert!(decisions.iter().all(|d| !d.allowed), "{decisions:?}");
        assert!(!windows.check(&"a", &ten, next).allowed);
        assert!(decisions[0].retry_after > 0);
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let limits = RateLimits::new(
            RateLimit(None),
            RateLimit(None),
            RateLimit(None),
            RateLimit(None),
            parse_proxies("10.0.0.0/8, 192.168.1.1").unwrap(),
        );
        // A client that is no proxy cannot choose its address.
        assert_eq!(limits.client_ip(Some(ip("203.0.113.9")), Some("1.2.3.4")), Some(ip("203.0.113.9")));
        // Behind the proxies: the nearest untrusted hop, whatever the client prepended.
        assert_eq!(
            limits.client_ip(Some(ip("10.1.2.3")), Some("6.6.6.6, 198.51.100.7, 192.168.1.1")),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(limits.client_ip(Some(ip("10.1.2.3")), None), Some(ip("10.1.2.3")));
        assert_eq!(limits.client_ip(Some(ip("10.1.2.3")), Some("garbage")), Some(ip("10.1.2.3")));
        assert!(parse_proxies("10.0.0.0/33").is_err());
    }
}
