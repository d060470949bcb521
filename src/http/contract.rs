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
    unique_operation_ids(&mut doc);
    add_links(&mut doc);
    forbid_nul(&mut doc);
    serde_json::from_value(doc).expect("the completed OpenAPI document reads back")
}

/// What no free-text string may hold: a NUL character (refused with `422 invalid_text`).
const NO_NUL: &str = "^[^\\u0000]*$";

/// Says so in every string schema without a format, pattern or enumeration of its own, so a
/// client or a fuzzer knows a NUL is not valid input (see `http::text`).
fn forbid_nul(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            if string
                && !["format", "pattern", "enum", "const"]
                    .iter()
                    .any(|k| map.contains_key(*k))
            {
                map.insert("pattern".into(), json!(NO_NUL));
            }
            // A pattern of its own that leaves the rest of the text free says the same.
            if string && let Some(Value::String(p)) = map.get_mut("pattern") {
                if p == "\\S" {
                    *p = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$".into();
                } else if p.starts_with('^') && !p.ends_with('$') {
                    p.push_str("[^\\u0000]*$");
                }
            }
            for (key, child) in map.iter_mut() {
                if key != "example" && key != "examples" {
                    forbid_nul(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_nul),
        _ => {}
    }
}

/// Every operation by path and method.
fn operations(doc: &mut Value) -> Vec<(String, &'static str, &mut Value)> {
    let mut ops = Vec::new();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if let Some(m) = METHODS.iter().find(|m| **m == method.as_str()) {
                    ops.push((path.clone(), *m, op));
                }
            }
        }
    }
    ops
}

/// The fixed words of a path, for names: `/v1/campaigns/{id}/pledges` → `campaigns_pledges`.
fn path_words(path: &str) -> String {
    path.split('/')
        .filter(|s| !s.is_empty() && *s != "v1" && !s.starts_with('{'))
        .map(|s| s.replace(['-', '.'], "_"))
        .collect::<Vec<_>>()
        .join("_")
}

/// `operationId`s are unique (OpenAPI requires it; client generators name functions after
/// them): a handler's name shared with another route's (`list`, `create`, `get`) gets the
/// path's words (`list_areas`, `create_campaigns_pledges`).
fn unique_operation_ids(doc: &mut Value) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for (_, _, op) in operations(doc) {
        if let Some(id) = op["operationId"].as_str() {
            *seen.entry(id.to_string()).or_default() += 1;
        }
    }
    for (path, _, op) in operations(doc) {
        let Some(id) = op["operationId"].as_str() else {
            continue;
        };
        if seen[id] > 1 {
            let words = path_words(&path);
            op["operationId"] = Value::String(format!("{id}_{words}"));
        }
    }
}

/// Where a created resource is read and acted on, when that is not `<collection>/{id}`:
/// an association's member is a user.
const ALSO_AT: [(&str, &str); 1] = [("members", "/v1/users")];

/// OpenAPI `links` from every operation that creates a resource (`POST` on a collection whose
/// success response has an `id`) to every operation taking that id: `POST /v1/campaigns` →
/// `GET /v1/campaigns/{id}` with `id: $response.body#/id`, the creating call's own path
/// parameters passed on (`POST /v1/funds/{id}/funders` → its funder's budget). Clients and
/// schemathesis's stateful phase follow them to use the ids they created.
/// The names of an operation's path parameters, in order.
fn path_params(op: &Value) -> Vec<String> {
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn add_links(doc: &mut Value) {
    let schemas = doc["components"]["schemas"].clone();
    let has_id = |schema: &Value| {
        let name = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next());
        name.is_some_and(|n| schemas[n]["properties"].get("id").is_some())
    };
    let targets: Vec<(String, String, Vec<String>)> = operations(doc)
        .into_iter()
        .filter_map(|(path, _, op)| {
            let id = op["operationId"].as_str()?.to_string();
            Some((path, id, path_params(op)))
        })
        .collect();
    for (path, method, op) in operations(doc) {
        let collection = path.rsplit('/').next().unwrap_or_default();
        if method != "post" || collection.starts_with('{') {
            continue;
        }
        let mut bases = vec![path.clone()];
        if path.matches('/').count() > 2 {
            bases.push(format!("/v1/{collection}"));
        }
        bases.extend(
            ALSO_AT
                .iter()
                .filter(|(c, _)| *c == collection)
                .map(|(_, base)| base.to_string()),
        );
        let own = path_params(op);
        let Some(responses) = op["responses"].as_object_mut() else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            if !status.starts_with('2')
                || !has_id(&response["content"]["application/json"]["schema"])
            {
                continue;
            }
            let mut links = serde_json::Map::new();
            for (target, target_id, params) in &targets {
                // The created id is the first parameter after the base.
                let Some(created) = bases.iter().find_map(|base| {
                    let rest = target.strip_prefix(base.as_str())?.strip_prefix("/{")?;
                    rest.split('}').next().map(str::to_string)
                }) else {
                    continue;
                };
                let mut values = serde_json::Map::new();
                let mut complete = true;
                for p in params {
                    if *p == created {
                        values.insert(p.clone(), json!("$response.body#/id"));
                    } else if own.contains(p) {
                        values.insert(p.clone(), json!(format!("$request.path.{p}")));
                    } else {
                        complete = false;
                    }
                }
                if complete {
                    links.insert(
                        target_id.clone(),
                        json!({"operationId": target_id, "parameters": values}),
                    );
                }
            }
            if !links.is_empty() {
                response["links"] = Value::Object(links);
            }
        }
    }
}

/// The description of a response the handler left without one (OpenAPI requires one).
fn default_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "204" => "No content",
        "400" => "Malformed request",
        "401" => "Missing, invalid or expired token",
        "403" => "Your role or ownership does not allow this",
        "404" => "No such resource",
        "409" => "Conflict with the resource's state",
        "413" => "Body too large",
        "415" => "Unsupported media type",
        "422" => "Invalid fields",
        "429" => "Too many requests; retry later",
        "502" => "The payment provider is unavailable",
        "503" => "Unavailable; retry later",
        _ => "See the operation's description",
    }
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
    // Any request: a NUL character or bytes that are not UTF-8 in its path, query or body.
    add(
        "422",
        "Text with a NUL character or bytes that are not UTF-8 (code `invalid_text`)",
    );
    if path.contains('{') {
        add("404", "No such resource");
    }
    if api_route && path != "/v1/webhooks/stripe" {
        add("401", "Missing, invalid or expired token");
    }
    if api_route {
        add("503", "Database unavailable; retry later");
    }
    for (status, response) in responses.iter_mut() {
        if response
            .get("description")
            .is_none_or(|d| d.as_str() == Some(""))
        {
            response["description"] = json!(default_description(status));
        }
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Where a pattern would let a NUL through: `.` or a negated class without `\u0000`, or a
    /// shorthand class (`\S`, `\W`, `\D`) that matches it. The server refuses a NUL in any text
    /// (`422 invalid_text`), so a pattern that allows one promises what the server refuses.
    fn lets_nul_through(pattern: &str) -> bool {
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let mut class: Option<(bool, usize)> = None; // (negated, where the class starts)
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    if matches!(chars.get(i + 1), Some('S' | 'W' | 'D')) {
                        return true;
                    }
                    i += 2;
                    continue;
                }
                '[' if class.is_none() => {
                    let negated = chars.get(i + 1) == Some(&'^');
                    class = Some((negated, i));
                    i += if negated { 2 } else { 1 };
                    continue;
                }
                ']' if class.is_some() => {
                    let (negated, start) = class.take().unwrap();
                    let body: String = chars[start..i].iter().collect();
                    if negated && !body.contains("\\u0000") {
                        return true;
                    }
                }
                '.' if class.is_none() => return true,
                _ => {}
            }
            i += 1;
        }
        false
    }

    fn patterns(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(p)) = map.get("pattern") {
                    out.push(p.clone());
                }
                map.values().for_each(|c| patterns(c, out));
            }
            Value::Array(items) => items.iter().for_each(|c| patterns(c, out)),
            _ => {}
        }
    }

    #[test]
    fn the_checker_sees_the_ways_a_nul_gets_through() {
        assert!(lets_nul_through("^[^\\u0000]*\\S[^\\u0000]*$"));
        assert!(lets_nul_through("^a.b$"));
        assert!(lets_nul_through("^[^,]*$"));
        assert!(!lets_nul_through("^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"));
        assert!(!lets_nul_through("^[A-Z0-9][A-Z0-9.]{0,29}$"));
        assert!(!lets_nul_through("^-?[0-9]+(\\.[0-9]+)?$"));
    }

    #[test]
    fn no_pattern_in_the_document_accepts_a_nul() {
        let doc = serde_json::to_value(crate::http::openapi()).unwrap();
        let mut all = Vec::new();
        patterns(&doc, &mut all);
        assert!(all.len() > 100, "the document declares its patterns");
        let bad: Vec<_> = all.iter().filter(|p| lets_nul_through(p)).collect();
        assert!(bad.is_empty(), "patterns that accept a NUL: {bad:?}");
    }
}
