//! What the generated OpenAPI document says beyond the handlers' own annotations, applied to
//! the whole document in one place so that no route can forget it: errors are
//! `application/problem+json`, and every operation declares the statuses the shared machinery
//! can answer for it (a malformed or oversized body, a bad or missing token, an unknown id, a
//! busy database). Also the routing table behind `405 Method Not Allowed`.

use serde_json::{Value, json};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

/// Completes the document (see the module documentation).
pub fn finish(api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut doc = serde_json::to_value(&api).expect("the OpenAPI document serialises");
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            for method in METHODS {
                let Some(op) = item.get_mut(method) else {
                    continue;
                };
                complete_operation(path, op);
            }
        }
    }
    serde_json::from_value(doc).expect("the completed OpenAPI document reads back")
}

fn complete_operation(path: &str, op: &mut Value) {
    let has_body = op.get("requestBody").is_some();
    let has_query = op["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
    let responses = op["responses"].as_object_mut().expect("responses");
    // Errors are problem documents.
    for (status, response) in responses.iter_mut() {
        if status.as_str() >= "400"
            && let Some(content) = response["content"].as_object_mut()
            && let Some(json) = content.remove("application/json")
        {
            content.insert("application/problem+json".into(), json);
        }
    }
    let api_route = path.starts_with("/v1/");
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_string())
            .or_insert_with(|| problem(description));
    };
    if has_body {
        add("400", "Malformed JSON");
        add("413", "Body too large");
        add("415", "Not JSON, or a compressed body");
        add("422", "Invalid fields");
    }
    if has_query {
        add("422", "Invalid query parameters");
    }
    if path.contains('{') {
        add("404", "No such resource");
    }
    if api_route && path != "/v1/webhooks/stripe" {
        add("401", "Missing, invalid or expired token");
    }
    if api_route {
        add("503", "Database unavailable; retry later");
    }
}

/// The documented routes: path templates (`/v1/campaigns/{id}`) and their methods.
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl RouteTable {
    pub fn from(api: &utoipa::openapi::OpenApi) -> RouteTable {
        let doc = serde_json::to_value(api).expect("the OpenAPI document serialises");
        let mut routes = Vec::new();
        if let Some(paths) = doc["paths"].as_object() {
            for (path, item) in paths {
                let methods = METHODS
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                routes.push((segments(path), methods));
            }
        }
        RouteTable { routes }
    }

    /// The methods a documented route takes at `path`, if one matches it.
    pub fn allowed(&self, path: &str) -> Option<&[String]> {
        let parts = segments(path);
        self.routes
            .iter()
            .find(|(template, _)| {
                template.len() == parts.len()
                    && template
                        .iter()
                        .zip(&parts)
                        .all(|(t, p)| t.starts_with('{') || t == p)
            })
            .map(|(_, methods)| methods.as_slice())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/')
        .split('/')
        .map(str::to_string)
        .collect()
}
