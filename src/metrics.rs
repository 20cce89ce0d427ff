//! Prometheus metrics, served at `/-/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Pass-through requests can take minutes (a large bulk, `wait_for_completion`).
const PASSTHROUGH_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Operations in one group commit: powers of two up to beyond the default bound of 256.
const BATCH_BUCKETS: [f64; 11] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    upstream_seconds: HistogramVec,
    upstream_errors: IntCounterVec,
    strategy: IntGaugeVec,
    passthrough: IntCounterVec,
    passthrough_seconds: HistogramVec,
    batch_size: HistogramVec,
    round_trips: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("connector_sync_proxy".to_owned()), None)
            .expect("a valid metric prefix");
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "Requests answered, by route and HTTP status",
            ),
            &["route", "status"],
        )
        .unwrap();
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer a request, by route",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route"],
        )
        .unwrap();
        let upstream_seconds = HistogramVec::new(
            HistogramOpts::new(
                "upstream_request_duration_seconds",
                "Time the cluster took to answer, by operation (get, update, health)",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["operation"],
        )
        .unwrap();
        let upstream_errors = IntCounterVec::new(
            Opts::new(
                "upstream_errors_total",
                "Requests to the cluster without a usable answer, by kind \
                 (unreachable, timeout, answer_lost, not_json, server_error)",
            ),
            &["kind"],
        )
        .unwrap();
        let strategy = IntGaugeVec::new(
            Opts::new(
                "update_strategy",
                "1 for the update strategy status transitions use now (script or optimistic)",
            ),
            &["strategy"],
        )
        .unwrap();
        let passthrough = IntCounterVec::new(
            Opts::new(
                "passthrough_requests_total",
                "Requests passed through to the cluster, by method and status class (2xx, 4xx, ...)",
            ),
            &["method", "status_class"],
        )
        .unwrap();
        let passthrough_seconds = HistogramVec::new(
            HistogramOpts::new(
                "passthrough_request_duration_seconds",
                "Time from a passed-through request's arrival to the last byte of its answer, by method",
            )
            .buckets(PASSTHROUGH_BUCKETS.to_vec()),
            &["method"],
        )
        .unwrap();
        let batch_size = HistogramVec::new(
            HistogramOpts::new(
                "group_commit_batch_size",
                "Operations sent together by group commit in one request to the cluster, by kind \
                 (bulk for writes, mget for the reads of guarded updates)",
            )
            .buckets(BATCH_BUCKETS.to_vec()),
            &["kind"],
        )
        .unwrap();
        let round_trips = IntCounterVec::new(
            Opts::new(
                "group_commit_round_trips_total",
                "Requests group commit sent to the cluster, by kind (bulk, mget) and form \
                 (single: a lone operation sent as its own request; grouped: a bulk or mget)",
            ),
            &["kind", "form"],
        )
        .unwrap();
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_seconds.clone()),
            Box::new(upstream_seconds.clone()),
            Box::new(upstream_errors.clone()),
            Box::new(strategy.clone()),
            Box::new(passthrough.clone()),
            Box::new(passthrough_seconds.clone()),
            Box::new(batch_size.clone()),
            Box::new(round_trips.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Self {
            registry,
            requests,
            request_seconds,
            upstream_seconds,
            upstream_errors,
            strategy,
            passthrough,
            passthrough_seconds,
            batch_size,
            round_trips,
        }
    }

    pub fn observe_request(&self, route: &str, status: u16, seconds: f64) {
        let mut digits = [0u8; 5];
        self.requests
            .with_label_values(&[route, status_label(status, &mut digits)])
            .inc();
        self.request_seconds.with_label_values(&[route]).observe(seconds);
    }

    pub fn observe_upstream(&self, operation: &str, seconds: f64) {
        self.upstream_seconds
            .with_label_values(&[operation])
            .observe(seconds);
    }

    pub fn upstream_error(&self, kind: &str) {
        self.upstream_errors.with_label_values(&[kind]).inc();
    }

    /// One passed-through request, once its answer is over. `method` is one of a few known
    /// names (or `other`), so the label set stays small.
    pub fn observe_passthrough(&self, method: &str, status: u16, seconds: f64) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.passthrough.with_label_values(&[method, class]).inc();
        self.passthrough_seconds
            .with_label_values(&[method])
            .observe(seconds);
    }

    /// One request of group commit: `kind` is bulk (writes) or mget (reads), carrying
    /// `operations`; one operation goes as its own request (form `single`).
    pub fn observe_batch(&self, kind: &str, operations: usize) {
        let form = if operations == 1 { "single" } else { "grouped" };
        self.round_trips.with_label_values(&[kind, form]).inc();
        self.batch_size
            .with_label_values(&[kind])
            .observe(operations as f64);
    }

    /// Records which strategy status transitions use from now on.
    pub fn set_strategy(&self, in_use: &str) {
        for strategy in ["script", "optimistic"] {
            self.strategy
                .with_label_values(&[strategy])
                .set(i64::from(strategy == in_use));
        }
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut text)
            .expect("metrics encode as text");
        String::from_utf8(text).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A status code's digits, written without allocating.
fn status_label(status: u16, digits: &mut [u8; 5]) -> &str {
    let mut n = status;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&digits[at..]).unwrap_or("0")
}
