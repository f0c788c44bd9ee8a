//! The served contract (issue 11, item 1): `GET /openapi.json` is an OpenAPI 3.1 document
//! whose paths and methods are the routes the server answers, and whose attributes are the
//! registered types' attributes; and what the server renders fits it.

use std::collections::BTreeSet;

use awc::http::Method;
use serde_json::{json, Value};

use provisioning::http::MOUNTED;
use provisioning::spec::{CREATE, UPDATE};

use crate::helpers::{spawn_app, TestApp};

async fn document(app: &TestApp) -> Value {
    let response = app.send(app.anonymous(Method::GET, "/openapi.json"), None).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.header("content-type").as_deref(), Some("application/json"));
    response.json()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

#[actix_rt::test]
async fn every_documented_path_is_routed_with_exactly_its_methods() {
    let app = spawn_app().await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["servers"][0]["url"], app.base);
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.len() > 60, "{} paths", paths.len());
    for (path, item) in paths {
        let documented: BTreeSet<String> =
            keys(item).into_iter().filter(|k| k != "parameters").map(|m| m.to_uppercase()).collect();
        // No route takes PUT: the 405 lists what the path does take.
        let concrete = path.replace("{id}", "an-id");
        let response = app.send(app.request(Method::PUT, &concrete), None).await;
        assert_eq!(response.status, 405, "PUT {concrete}: {}", response.text);
        let allowed: BTreeSet<String> = response
            .header("allow")
            .unwrap_or_else(|| panic!("PUT {concrete} has no Allow header"))
            .split(", ")
            .filter(|m| *m != "HEAD")
            .map(String::from)
            .collect();
        assert_eq!(allowed, documented, "{path}: the methods routed and the methods documented");
        for (method, operation) in item.as_object().unwrap() {
            assert!(operation["operationId"].is_string(), "{method} {path} has an operationId");
            assert!(!keys(&operation["responses"]).is_empty(), "{method} {path} has responses");
        }
    }
    // A method no route takes is answered 405 whatever its body is: routing comes before the
    // media type (415 is for a route that reads a body).
    let response = app.raw(Method::PUT, "/api/organizations", Some("text/plain"), "x").await;
    assert_eq!(response.status, 405, "{}", response.text);
    let response = app.raw(Method::POST, "/api/organizations/an-id", Some("text/plain"), "x").await;
    assert_eq!(response.status, 405, "{}", response.text);
    // And every registered type's routes are there.
    for mounted in MOUNTED {
        let spec = mounted.resource.spec();
        let name = spec.type_name;
        let Some(writes) = mounted.writes else {
            assert!(paths.contains_key("/api/user"), "the caller's user");
            continue;
        };
        let collection = &paths[&format!("/api/{name}")];
        assert!(collection["get"].is_object(), "{name}: list");
        assert_eq!(collection["post"].is_object(), writes.contains(&"create"), "{name}: create");
        let member = &paths[&format!("/api/{name}/{{id}}")];
        assert!(member["get"].is_object(), "{name}: retrieve");
        assert_eq!(member["patch"].is_object(), writes.contains(&"update"), "{name}: update");
        assert_eq!(member["delete"].is_object(), writes.contains(&"delete"), "{name}: delete");
        for relationship in spec.relationships {
            for path in [
                format!("/api/{name}/{{id}}/{}", relationship.name),
                format!("/api/{name}/{{id}}/relationships/{}", relationship.name),
            ] {
                assert!(paths[&path]["get"].is_object(), "{path}");
            }
        }
    }
}

#[actix_rt::test]
async fn documented_attributes_are_the_types_attributes() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let schemas = &document["components"]["schemas"];
    for mounted in MOUNTED {
        let spec = mounted.resource.spec();
        let name = spec.type_name;
        let rendered: BTreeSet<String> =
            spec.all_attributes().filter(|a| a.rendered()).map(|a| a.name.to_string()).collect();
        assert_eq!(keys(&schemas[name]["properties"]["attributes"]["properties"]), rendered, "{name}: rendered");
        for (flag, schema) in [(CREATE, "create"), (UPDATE, "update")] {
            let accepted: BTreeSet<String> =
                spec.all_attributes().filter(|a| a.has(flag)).map(|a| a.name.to_string()).collect();
            let documented = &schemas[format!("{name}_{schema}")]["properties"]["data"]["properties"]["attributes"];
            assert_eq!(keys(&documented["properties"]), accepted, "{name}: {schema}");
        }
        let relationships: BTreeSet<String> = spec.relationships.iter().map(|r| r.name.to_string()).collect();
        let documented = keys(&schemas[name]["properties"]["relationships"]["properties"]);
        assert_eq!(documented, relationships, "{name}: relationships");
    }
    // Filters are what the parser takes: `filter[q]` lists the predicates of the filterable
    // attributes, each a kind allows; `_jcont` takes JSON, so it is a parameter of its own.
    let parameters = &document["components"]["parameters"];
    let list: Vec<String> = document["paths"]["/api/organizations"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["$ref"].as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect();
    assert!(list.contains(&"organizations.filter".to_string()) && list.contains(&"organizations.sort".to_string()));
    let filter = &parameters["organizations.filter"];
    assert_eq!((filter["name"].as_str(), filter["style"].as_str()), (Some("filter[q]"), Some("deepObject")));
    let predicates = keys(&filter["schema"]["properties"]);
    for accepted in ["name_cont", "name_eq", "slug_start", "created_at_gteq", "id_in", "reference_null"] {
        assert!(predicates.contains(accepted), "{accepted}");
    }
    for refused in ["metadata_eq", "support_email_eq", "name_true", "can_switch_live_cont"] {
        assert!(!predicates.contains(refused), "{refused}");
    }
    assert_eq!(parameters["organizations.filter.metadata_jcont"]["name"], "filter[q][metadata_jcont]");
    // Every documented predicate of every type is one the server takes, on either backend.
    for mounted in MOUNTED.iter().filter(|m| m.writes.is_some()) {
        let name = mounted.resource.spec().type_name;
        let properties = &parameters[format!("{name}.filter")]["schema"]["properties"];
        for (predicate, schema) in properties.as_object().unwrap() {
            let value = match (schema["type"].as_str(), schema["format"].as_str()) {
                (Some("boolean"), _) => "true",
                (Some("integer"), _) => "1",
                (_, Some("date-time")) => "2018-01-01T00:00:00Z",
                _ if schema["pattern"].as_str().is_some_and(|p| p.contains("(?:19|20)")) => "2018-01-01",
                _ if schema["pattern"].as_str().is_some_and(|p| p.contains("[0-9]{1,18}")) => "1",
                _ if schema["pattern"].as_str().is_some_and(|p| p.contains("true|false")) => "true",
                _ => "a",
            };
            let response = app.get(&format!("/api/{name}?filter[q][{predicate}]={value}")).await;
            assert_eq!(response.status, 200, "{name}: {predicate}={value}: {}", response.text);
        }
    }
}

/// A resource object against its documented schema: the members, and the type of each attribute.
fn check_resource(schemas: &Value, resource: &Value) {
    let name = resource["type"].as_str().unwrap();
    let schema = &schemas[name]["properties"];
    let documented = keys(&schema["attributes"]["properties"]);
    for (attribute, value) in resource["attributes"].as_object().unwrap() {
        assert!(documented.contains(attribute), "{name}.{attribute} is documented");
        let types = &schema["attributes"]["properties"][attribute]["type"];
        let json_type = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = match types {
            Value::String(t) => t == json_type,
            Value::Array(ts) => ts.iter().any(|t| t == json_type),
            _ => true,
        };
        assert!(fits, "{name}.{attribute} = {value} fits {types}");
    }
    for relationship in keys(&resource["relationships"]) {
        assert!(schema["relationships"]["properties"][&relationship].is_object(), "{name}.{relationship}");
    }
}

#[actix_rt::test]
async fn what_the_server_renders_fits_the_document() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let schemas = &document["components"]["schemas"];
    let organization = app.create_organization(json!({"name": "Contract", "metadata": {"a": 1}})).await;
    let id = organization["id"].as_str().unwrap();
    check_resource(schemas, &organization);
    let roles = app.get(&format!("/api/roles?filter[q][organization_id_eq]={id}&filter[q][kind_eq]=admin")).await;
    let role = roles.json()["data"][0]["id"].as_str().unwrap().to_string();
    let credential = app
        .post(
            "/api/api_credentials",
            &json!({"data": {"type": "api_credentials", "attributes": {"name": "Contract", "kind": "integration"},
                "relationships": {"organization": {"data": {"type": "organizations", "id": id}},
                    "role": {"data": {"type": "roles", "id": role}}}}}),
        )
        .await;
    assert_eq!(credential.status, 201, "{}", credential.text);
    check_resource(schemas, &credential.json()["data"]);
    let user = app.get("/api/user").await;
    check_resource(schemas, &user.json()["data"]);
    for mounted in MOUNTED.iter().filter(|m| m.writes.is_some()) {
        let name = mounted.resource.spec().type_name;
        let page = app.get(&format!("/api/{name}")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let page = page.json();
        assert!(page["data"].is_array() && page["meta"]["record_count"].is_i64() && page["links"]["first"].is_string());
        for resource in page["data"].as_array().unwrap() {
            check_resource(schemas, resource);
        }
    }
}
