//! The HTTP entrypoint: the JSON API under `/api/v1`, its OpenAPI document, and the
//! operator's endpoints (`/healthz`, `/readyz`, `/metrics`). One module per bounded context
//! adds its routes to a [`RouteTable`]; this module merges them and puts the layers around
//! them (request id and metrics on everything, admission control on the API), and
//! [`serve`] serves it with the connection-level limits (header timeout, connection cap).
//!
//! Handlers only translate between HTTP and the use cases in [`crate::services`]; they must
//! never hold an academic rule or an authorisation rule of their own. The operator's endpoints
//! stay outside admission control so that an overloaded portal can still be observed.

mod admission;
mod amendments;
mod auth;
mod body;
mod courses;
pub mod documents;
pub mod error;
pub mod extract;
mod fast;
mod links;
mod middleware;
pub mod openapi;
mod ops;
mod registry;
mod regrades;
mod review;
pub mod serve;
mod sheets;
mod students;
mod teaching;

use crate::config::Limits;
use crate::services::Services;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{on, MethodFilter};
use axum::Router;
use body::BodyRule;
use error::ApiError;
use std::collections::HashMap;

pub use fast::FastLane;
pub use openapi::OPENAPI_JSON;

/// A router together with the list of its (method, path) pairs, so the OpenAPI document can
/// be checked against what is really served.
pub struct RouteTable {
    router: Router<Services>,
    routes: Vec<(Method, &'static str)>,
    /// Routes whose body is not the API's usual JSON: their size limit and sender gate.
    bodies: HashMap<(Method, &'static str), BodyRule>,
}

impl RouteTable {
    fn new() -> Self {
        RouteTable {
            router: Router::new(),
            routes: Vec::new(),
            bodies: HashMap::new(),
        }
    }

    fn route<H, T>(self, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, Services>,
        T: 'static,
    {
        self.route_limited(method, path, handler, None)
    }

    /// A route whose body may be larger than the API's JSON limit (uploads).
    fn route_limited<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        handler: H,
        body_limit: Option<usize>,
    ) -> Self
    where
        H: Handler<T, Services>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        let mut endpoint = on(filter, handler);
        if let Some(n) = body_limit {
            endpoint = endpoint.layer(DefaultBodyLimit::max(n));
            self.bodies.entry((method.clone(), path)).or_default().limit = Some(n);
        }
        self.router = self.router.route(path, endpoint);
        self.routes.push((method, path));
        self
    }
}

impl RouteTable {
    /// Judges the sender of `method path` from the headers before its body is read.
    fn gate_body(mut self, method: Method, path: &'static str, gate: body::Gate) -> Self {
        self.bodies.entry((method, path)).or_default().gate = Some(gate);
        self
    }
}

/// The versioned JSON API (behind admission control).
fn api_v1(limits: &Limits) -> RouteTable {
    let t = RouteTable::new();
    let t = auth::routes(t);
    let t = students::routes(t);
    let t = documents::routes(t);
    let t = sheets::routes(t, limits);
    let t = review::routes(t);
    let t = registry::routes(t);
    let t = courses::routes(t);
    let t = amendments::routes(t, limits);
    let t = regrades::routes(t);
    let t = links::routes(t);
    teaching::routes(t)
}

/// The operator's endpoints and the API description (outside admission control); `/metrics`
/// too unless it has an address of its own.
fn public(with_metrics: bool) -> RouteTable {
    let t = ops::routes(RouteTable::new());
    if with_metrics {
        ops::metrics_routes(t)
    } else {
        t
    }
}

/// Every (method, path) the router serves, in axum's path syntax (`/x/{id}`).
pub fn routes() -> Vec<(Method, String)> {
    let limits = Limits::default();
    api_v1(&limits)
        .routes
        .into_iter()
        .chain(public(true).routes)
        .map(|(m, p)| (m, p.to_string()))
        .collect()
}

async fn no_route(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    // Browsers get a page; the API (and the operator's endpoints) keep problem bodies.
    let p = uri.path();
    if !(p == "/api" || p.starts_with("/api/")) {
        return crate::pages::browser_not_found();
    }
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no-route",
        "there is nothing at this address; the API is described at /api/openapi.json",
    )
    .into_response()
}

async fn wrong_method(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let p = uri.path();
    if !(p == "/api" || p.starts_with("/api/")) {
        return crate::pages::browser_wrong_method();
    }
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this address does not answer that method; see /api/openapi.json",
    )
    .into_response()
}

/// The whole HTTP application over `services`.
pub fn router(services: Services) -> Router {
    portal(services).0
}

/// The whole HTTP application, and the fast lane in front of it for cached results reads
/// (sharing its in-flight slots); see [`fast`].
pub fn portal(services: Services) -> (Router, FastLane) {
    let gate = admission::Admission::new(services.clone());
    let fast = FastLane::new(gate.clone());
    (application(services, gate), fast)
}

fn application(services: Services, gate: admission::Admission) -> Router {
    let limits = services.config.limits.clone();
    let api = api_v1(&limits);
    let bodies = body::Bodies::new(services.clone(), api.bodies);
    // Outermost first: the client's own rate limit (so a flooding client is refused by its
    // own limit and cannot take the slots others need), then its body is read under a
    // deadline, and only then does the request take an in-flight slot and its deadline.
    // Pages share the in-flight slots, the deadline and each client's allowance with the API;
    // a signed-in page's client is the account in its session cookie (so a campus behind one
    // NAT address is not one client), anyone else's their address, as for the API. Their
    // refusals are shown as HTML error pages.
    let pages = crate::pages::routes(services.clone())
        .layer(from_fn_with_state(gate.clone(), admission::deadline))
        .layer(from_fn_with_state(gate.clone(), admission::in_flight))
        .layer(from_fn_with_state(gate.clone(), admission::page_rate_limit))
        .layer(from_fn(crate::pages::problems::layer));
    let api = api
        .router
        .layer(from_fn_with_state(gate.clone(), admission::deadline))
        .layer(from_fn_with_state(gate.clone(), admission::in_flight))
        .layer(from_fn_with_state(bodies, body::read_body))
        .layer(from_fn_with_state(gate, admission::rate_limit))
        .layer(DefaultBodyLimit::max(limits.max_json_bytes));
    let with_metrics = services.config.metrics_listen.is_none();
    api.merge(public(with_metrics).router)
        .merge(pages)
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(from_fn_with_state(services.clone(), middleware::metrics))
        .layer(from_fn(middleware::request_id))
        .with_state(services)
}

/// The operator's endpoints alone (`/healthz`, `/readyz`, `/metrics`), for worker processes,
/// so a deployment can health-check and scrape every process, not only the portals.
pub fn ops_router(services: Services) -> Router {
    public(services.config.metrics_listen.is_none())
        .router
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(from_fn_with_state(services.clone(), middleware::metrics))
        .layer(from_fn(middleware::request_id))
        .with_state(services)
}

/// `/metrics` alone, for the address `metrics_listen` names.
pub fn metrics_router(services: Services) -> Router {
    ops::metrics_routes(RouteTable::new())
        .router
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(from_fn(middleware::request_id))
        .with_state(services)
}
