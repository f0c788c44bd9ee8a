//! Collections: pagination, sorting, Ransack-style filters, includes and sparse fieldsets.

use serde_json::{json, Value};

use crate::helpers::{encode, spawn_app, TestApp};

async fn seed(app: &TestApp, count: usize) -> Vec<Value> {
    let mut created = Vec::new();
    for i in 0..count {
        created.push(
            app.create_organization(json!({"name": format!("Org {i:02}"), "reference": format!("ref-{}", i % 3)}))
                .await,
        );
    }
    created
}

/// A link as a person reads it: links are percent-encoded (RFC 3986).
fn decoded(link: &str) -> String {
    percent_encoding::percent_decode_str(link).decode_utf8().unwrap().into_owned()
}

fn names(body: &Value) -> Vec<String> {
    body["data"].as_array().unwrap().iter().map(|o| o["attributes"]["name"].as_str().unwrap().to_string()).collect()
}

#[actix_rt::test]
async fn pages_default_to_ten_with_counts_and_links() {
    let app = spawn_app().await;
    seed(&app, 12).await;
    let body = app.get("/api/organizations").await.json();
    assert_eq!(body["data"].as_array().unwrap().len(), 10);
    assert_eq!(body["meta"], json!({"record_count": 12, "page_count": 2}));
    let links = &body["links"];
    // Links are percent-encoded (RFC 3986); read them decoded.
    let link = |name: &str| decoded(body["links"][name].as_str().unwrap());
    assert!(link("next").contains("page[number]=2"));
    assert!(link("last").contains("page[number]=2"));
    assert!(link("first").contains("page[number]=1"));
    assert!(links.get("prev").is_none());
    // Following next gives the rest.
    let next = links["next"].as_str().unwrap().strip_prefix(&app.base).unwrap().to_string();
    let second = app.get(&next).await.json();
    assert_eq!(second["data"].as_array().unwrap().len(), 2);
    assert!(decoded(second["links"]["prev"].as_str().unwrap()).contains("page[number]=1"));
    assert!(second["links"].get("next").is_none());
}

#[actix_rt::test]
async fn page_links_keep_every_other_parameter() {
    let app = spawn_app().await;
    seed(&app, 6).await;
    let body = app
        .get("/api/organizations?page[size]=2&sort=-name&filter[q][name_start]=Org&fields[organizations]=name")
        .await
        .json();
    assert_eq!(names(&body), vec!["Org 05", "Org 04"]);
    assert_eq!(body["meta"]["page_count"], 3);
    for link in ["self", "first", "next", "last"] {
        let url = decoded(body["links"][link].as_str().unwrap());
        for kept in ["page[size]=2", "sort=-name", "filter[q][name_start]=Org", "fields[organizations]=name"] {
            assert!(url.contains(kept), "{link} link {url} lost {kept}");
        }
    }
    let last = body["links"]["last"].as_str().unwrap().strip_prefix(&app.base).unwrap().to_string();
    assert_eq!(names(&app.get(&last).await.json()), vec!["Org 01", "Org 00"]);
}

#[actix_rt::test]
async fn page_size_allows_up_to_25_and_refuses_the_rest() {
    let app = spawn_app().await;
    seed(&app, 3).await;
    let ok = app.get("/api/organizations?page[size]=25").await;
    assert_eq!(ok.status, 200);
    for (parameter, value) in [
        ("page[size]", "26"),
        ("page[size]", "0"),
        ("page[size]", "-1"),
        ("page[size]", "ten"),
        ("page[number]", "0"),
        ("page[number]", "x"),
    ] {
        let response = app.get(&format!("/api/organizations?{parameter}={value}")).await;
        assert_eq!(response.status, 400, "{parameter}={value}");
        let error = response.error();
        assert_eq!(error["code"], "INVALID_PARAMETER");
        assert_eq!(error["source"]["parameter"], parameter);
    }
    // A page past the end is empty, not an error.
    let body = app.get("/api/organizations?page[number]=9").await.json();
    assert_eq!(body["data"], json!([]));
    assert_eq!(body["meta"]["record_count"], 3);
}

#[actix_rt::test]
async fn sorts_follow_the_allow_list() {
    let app = spawn_app().await;
    seed(&app, 4).await;
    assert_eq!(
        names(&app.get("/api/organizations?sort=-name").await.json()),
        vec!["Org 03", "Org 02", "Org 01", "Org 00"]
    );
    assert_eq!(
        names(&app.get("/api/organizations?sort=reference,-name").await.json()),
        vec!["Org 03", "Org 00", "Org 01", "Org 02"]
    );
    assert_eq!(names(&app.get("/api/organizations?sort=created_at").await.json())[0], "Org 00");
    for sort in ["support_email", "nope", "-", "name,,slug"] {
        let response = app.get(&format!("/api/organizations?sort={sort}")).await;
        assert_eq!(response.status, 400, "{sort}");
        assert_eq!(response.error()["source"]["parameter"], "sort");
    }
}

async fn filtered(app: &TestApp, filter: &str, value: &str) -> Vec<String> {
    let response =
        app.get(&format!("/api/organizations?page[size]=25&sort=name&filter[q][{filter}]={}", encode(value))).await;
    assert_eq!(response.status, 200, "{filter}={value}: {}", response.text);
    names(&response.json())
}

#[actix_rt::test]
async fn every_predicate_filters() {
    let app = spawn_app().await;
    let acme = app.create_organization(json!({"name": "Acme", "contrast_color": "#FFFFFF", "reference": "a_1", "metadata": {"tier": "gold", "seats": 5, "flags": ["x", "y"], "nested": {"on": true}}})).await;
    app.create_organization(
        json!({"name": "Beta Corp", "contrast_color": "#000000", "reference": "b%2", "metadata": {"tier": "silver"}}),
    )
    .await;
    app.create_organization(json!({"name": "Gamma", "reference_origin": "crm"})).await;
    let all = vec!["Acme", "Beta Corp", "Gamma"];
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        ("name_eq", "Acme", vec!["Acme"]),
        ("name_not_eq", "Acme", vec!["Beta Corp", "Gamma"]),
        ("contrast_color_eq_or_null", "#FFFFFF", vec!["Acme", "Gamma"]),
        ("contrast_color_not_eq_or_null", "#FFFFFF", vec!["Beta Corp", "Gamma"]),
        ("name_matches", "%corp", vec!["Beta Corp"]),
        ("name_does_not_match", "a%", vec!["Beta Corp", "Gamma"]),
        ("name_lt", "B", vec!["Acme"]),
        ("name_lteq", "Beta Corp", vec!["Acme", "Beta Corp"]),
        ("name_gt", "Beta Corp", vec!["Gamma"]),
        ("name_gteq", "Beta Corp", vec!["Beta Corp", "Gamma"]),
        ("name_in", "Acme,Gamma", vec!["Acme", "Gamma"]),
        ("name_not_in", "Acme,Gamma", vec!["Beta Corp"]),
        ("contrast_color_not_in_or_null", "#FFFFFF", vec!["Beta Corp", "Gamma"]),
        ("name_start", "be", vec!["Beta Corp"]),
        ("name_not_start", "be", vec!["Acme", "Gamma"]),
        ("name_end", "MA", vec!["Gamma"]),
        ("name_not_end", "ma", vec!["Acme", "Beta Corp"]),
        ("name_cont", "CM", vec!["Acme"]),
        ("name_not_cont", "a", vec![]),
        ("name_cont_any", "cme,amm", vec!["Acme", "Gamma"]),
        ("name_cont_all", "e,t", vec!["Beta Corp"]),
        ("name_start_any", "ac,ga", vec!["Acme", "Gamma"]),
        ("name_end_any", "me,rp", vec!["Acme", "Beta Corp"]),
        ("reference_present", "true", vec!["Acme", "Beta Corp"]),
        ("reference_blank", "true", vec!["Gamma"]),
        ("reference_null", "true", vec!["Gamma"]),
        ("reference_null", "false", vec!["Acme", "Beta Corp"]),
        ("reference_not_null", "true", vec!["Acme", "Beta Corp"]),
        ("reference_origin_present", "false", vec!["Acme", "Beta Corp"]),
        // LIKE wildcards in a value match literally.
        ("reference_cont", "%", vec!["Beta Corp"]),
        ("reference_cont", "_", vec!["Acme"]),
        ("metadata_jcont", r#"{"tier":"gold"}"#, vec!["Acme"]),
        ("metadata_jcont", r#"{"seats":5,"nested":{"on":true}}"#, vec!["Acme"]),
        ("metadata_jcont", r#"{"flags":["y"]}"#, vec!["Acme"]),
        ("metadata_jcont", r#"{"flags":["z"]}"#, vec![]),
        ("metadata_jcont", r#"{"tier":"bronze"}"#, vec![]),
        ("metadata_jcont", r#"{}"#, all.clone()),
        ("name_or_reference_origin_cont", "crm", vec!["Gamma"]),
        ("name_or_reference_eq", "b%2", vec!["Beta Corp"]),
        ("name_and_reference_cont", "a", vec!["Acme"]),
        ("created_at_gt", "2000-01-01", all.clone()),
        ("created_at_lt", "2000-01-01T00:00:00Z", vec![]),
        ("id_eq", acme["id"].as_str().unwrap(), vec!["Acme"]),
        ("region_eq", "eu-west-1", all.clone()),
        // A value that looks like SQL is only ever a value.
        ("name_eq", "Acme' OR '1'='1", vec![]),
    ];
    for (filter, value, expected) in cases {
        assert_eq!(filtered(&app, filter, value).await, expected, "{filter}={value}");
    }
    assert_eq!(app.organization_count().await, 3);
}

#[actix_rt::test]
async fn filters_combine_and_ids_filter_plainly() {
    let app = spawn_app().await;
    let created = seed(&app, 5).await;
    let ids = format!("{},{}", created[1]["id"].as_str().unwrap(), created[3]["id"].as_str().unwrap());
    assert_eq!(
        names(&app.get(&format!("/api/organizations?filter[ids]={ids}")).await.json()),
        vec!["Org 01", "Org 03"]
    );
    let body = app.get(&format!("/api/organizations?filter[ids]={ids}&filter[q][name_end]=3")).await.json();
    assert_eq!(names(&body), vec!["Org 03"]);
    assert_eq!(body["meta"]["record_count"], 1);
}

#[actix_rt::test]
async fn unknown_filters_get_400_naming_the_parameter() {
    let app = spawn_app().await;
    let cases = [
        "filter[q][nope_eq]=1",
        "filter[q][name_like]=1",
        "filter[q][support_email_eq]=a",
        "filter[q][name]=x",
        "filter[q][name_true]=true",
        "filter[q][metadata_eq]=x",
        "filter[q][metadata_jcont]=[1]",
        "filter[q][metadata_jcont]=nope",
        "filter[q][created_at_gt]=yesterday",
        "filter[q][name_null]=maybe",
        "filter[q][name_or_nope_eq]=x",
        "filter[q][name_in]=",
    ];
    for case in cases {
        let response = app.get(&format!("/api/organizations?{case}")).await;
        assert_eq!(response.status, 400, "{case}: {}", response.text);
        let error = response.error();
        assert_eq!(error["code"], "INVALID_FILTER", "{case}");
        assert_eq!(error["source"]["parameter"], case.split('=').next().unwrap(), "{case}");
    }
}

#[actix_rt::test]
async fn unknown_parameters_get_400_naming_the_parameter() {
    let app = spawn_app().await;
    for case in [
        "foo=bar",
        "filter[name]=x",
        "page[offset]=1",
        "sort=name&sort=slug",
        "include=nope",
        "include=memberships.nope",
        "include=",
        "fields[nope]=name",
        "fields[organizations]=nope",
    ] {
        let response = app.get(&format!("/api/organizations?{case}")).await;
        assert_eq!(response.status, 400, "{case}: {}", response.text);
        let error = response.error();
        assert_eq!(error["code"], "INVALID_PARAMETER", "{case}");
        assert!(error["source"]["parameter"].is_string());
    }
    let id = app.create_organization(json!({"name": "Acme"})).await["id"].as_str().unwrap().to_string();
    for case in ["sort=name", "page[size]=1", "filter[q][name_eq]=x"] {
        let response = app.get(&format!("/api/organizations/{id}?{case}")).await;
        assert_eq!(response.status, 400, "{case}");
    }
}

#[actix_rt::test]
async fn compound_documents_have_full_linkage_and_no_duplicates() {
    let app = spawn_app().await;
    seed(&app, 2).await;
    // roles reached twice (directly and through memberships.role) must appear once.
    let body = app.get("/api/organizations?include=roles,memberships.role,api_credentials").await.json();
    let included = body["included"].as_array().unwrap();
    let mut keys: Vec<(String, String)> = included
        .iter()
        .map(|r| (r["type"].as_str().unwrap().to_string(), r["id"].as_str().unwrap().to_string()))
        .collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), total, "no resource is included twice");
    assert_eq!(included.iter().filter(|r| r["type"] == "roles").count(), 4, "two organizations, two roles each");
    assert_eq!(included.iter().filter(|r| r["type"] == "memberships").count(), 2);
    // Full linkage: every included resource is reached from the primary data's linkage, or
    // from the linkage of another included resource.
    let mut linked: Vec<serde_json::Value> = Vec::new();
    for resource in body["data"].as_array().unwrap().iter().chain(included.iter()) {
        for (_, relationship) in resource["relationships"].as_object().unwrap() {
            match &relationship["data"] {
                serde_json::Value::Array(items) => linked.extend(items.iter().cloned()),
                serde_json::Value::Object(_) => linked.push(relationship["data"].clone()),
                _ => {}
            }
        }
    }
    for resource in included {
        assert!(linked.contains(&json!({"type": resource["type"], "id": resource["id"]})), "{resource}");
    }
    for organization in body["data"].as_array().unwrap() {
        assert_eq!(organization["relationships"]["api_credentials"]["data"], json!([]));
    }
    // Nothing matched: an empty included member. No include: none at all.
    let body = app.get("/api/organizations?include=api_credentials").await.json();
    assert_eq!(body["included"], json!([]));
    let plain = app.get("/api/organizations").await.json();
    assert!(plain.get("included").is_none(), "no include, no included member");
    assert!(plain["data"][0]["relationships"]["roles"].get("data").is_none());
}

#[actix_rt::test]
async fn sparse_fieldsets_limit_what_is_rendered() {
    let app = spawn_app().await;
    let id = app.create_organization(json!({"name": "Acme", "region": "us-east-1"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = app.get(&format!("/api/organizations/{id}?fields[organizations]=name,region")).await.json();
    assert_eq!(body["data"]["attributes"], json!({"name": "Acme", "region": "us-east-1"}));
    assert!(body["data"].get("relationships").is_none());
    assert_eq!(body["data"]["id"], id.as_str());
    let body = app.get("/api/organizations?fields[organizations]=roles").await.json();
    assert_eq!(body["data"][0]["attributes"], json!({}));
    assert!(body["data"][0]["relationships"]["roles"]["links"]["related"].is_string());
    assert!(body["data"][0]["relationships"].get("memberships").is_none());
}

/// Cursor pagination (issue 12): `page[after]=` starts at the first row, `links.next` and
/// `links.prev` carry opaque cursors, and a page read by cursor stays put when rows are added
/// before it (a page by number would shift).
#[actix_rt::test]
async fn cursors_page_through_a_list_stably_under_inserts() {
    let app = spawn_app().await;
    seed(&app, 7).await;
    let path = |link: &Value| link.as_str().unwrap().strip_prefix(&app.base).unwrap().to_string();
    let first = app.get("/api/organizations?sort=name&page[size]=3&filter[q][name_start]=Org&page[after]=").await;
    assert_eq!(first.status, 200, "{}", first.text);
    let first = first.json();
    assert_eq!(names(&first), ["Org 00", "Org 01", "Org 02"]);
    assert_eq!(first["meta"]["record_count"], 7);
    assert!(first["links"].get("prev").is_none(), "nothing comes before the first row");
    let next = decoded(first["links"]["next"].as_str().unwrap());
    assert!(
        next.contains("page[after]=") && next.contains("sort=name") && next.contains("filter[q][name_start]=Org"),
        "{next}"
    );
    assert!(!next.contains("page[number]"), "{next}");
    // A row that sorts before the cursor arrives: the next page is still the next three.
    app.create_organization(json!({"name": "Org 01b"})).await;
    let second = app.get(&path(&first["links"]["next"])).await.json();
    assert_eq!(names(&second), ["Org 03", "Org 04", "Org 05"]);
    assert_eq!(second["meta"]["record_count"], 8);
    let third = app.get(&path(&second["links"]["next"])).await.json();
    assert_eq!(names(&third), ["Org 06"]);
    assert!(third["links"].get("next").is_none(), "the last row has nothing after it");
    // Back from there: the three before Org 06.
    let back = app.get(&path(&third["links"]["prev"])).await.json();
    assert_eq!(names(&back), ["Org 03", "Org 04", "Org 05"]);
    let back = app.get(&path(&back["links"]["prev"])).await.json();
    assert_eq!(names(&back), ["Org 01", "Org 01b", "Org 02"]);
    // `page[before]=` is the end of the list.
    let last = app.get(&path(&first["links"]["last"])).await.json();
    assert_eq!(names(&last), ["Org 04", "Org 05", "Org 06"]);
    assert!(last["links"].get("next").is_none());
    // Descending, on a column that may be NULL, both ways agree with the whole list.
    let all = names(&app.get("/api/organizations?sort=-reference,name&page[size]=25").await.json());
    let mut walked = Vec::new();
    let mut link = "/api/organizations?sort=-reference,name&page[size]=2&page[after]=".to_string();
    loop {
        let page = app.get(&link).await.json();
        walked.extend(names(&page));
        match page["links"].get("next") {
            Some(next) => link = path(next),
            None => break,
        }
    }
    assert_eq!(walked, all);
}

#[actix_rt::test]
async fn a_cursor_is_refused_where_it_cannot_apply() {
    let app = spawn_app().await;
    seed(&app, 3).await;
    let body = app.get("/api/organizations?sort=name&page[size]=1&page[after]=").await.json();
    let cursor = decoded(body["links"]["next"].as_str().unwrap())
        .split("page[after]=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    for (query, parameter) in [
        ("page[after]=bm90IGEgY3Vyc29y", "page[after]"),
        ("page[before]=%%%", "page[before]"),
        // A cursor from one sort does not fit another.
        (&*format!("sort=-name&page[after]={cursor}"), "page[after]"),
        (&*format!("sort=name&page[after]={cursor}&page[number]=2"), "page[after]"),
        (&*format!("sort=name&page[after]={cursor}&page[before]={cursor}"), "page[before]"),
    ] {
        let response = app.get(&format!("/api/organizations?{query}")).await;
        assert_eq!(response.status, 400, "{query}: {}", response.text);
        assert_eq!(response.error()["source"]["parameter"], parameter, "{query}");
    }
    let response = app.get(&format!("/api/organizations?sort=name&page[after]={cursor}")).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

/// Past 1,000 rows a list's count is PostgreSQL's planner estimate, flagged as such, rather
/// than a scan of every row on every page; SQLite counts.
#[actix_rt::test]
async fn long_lists_count_up_to_a_bound_then_estimate() {
    use diesel::connection::SimpleConnection;
    let app = spawn_app().await;
    let org = app.create_organization(json!({"name": "Big"})).await["id"].as_str().unwrap().to_string();
    let api = app
        .post("/api/api_resources", &json!({"data": {"type": "api_resources", "attributes": {"name": "Big", "identifier": "https://big.example.com"},
            "relationships": {"organization": {"data": {"type": "organizations", "id": org}}}}}))
        .await
        .json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let url = app.database_url.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = crate::helpers::connect(&url);
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1050) \
             INSERT INTO api_scopes (id, api_resource_id, organization_id, name, description, metadata, created_at, updated_at) \
             SELECT 'scope' || i, '{api}', '{org}', 'scope:' || i, NULL, '{{}}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM n"
        );
        match &mut conn {
            provisioning::db::AnyConnection::Sqlite(c) => c.batch_execute(&sql),
            provisioning::db::AnyConnection::Postgresql(c) => c.batch_execute(&format!("{sql}; ANALYZE api_scopes")),
        }
        .expect("inserting scopes");
    })
    .await
    .unwrap();
    let body = app.get("/api/api_scopes?page[size]=5").await.json();
    let meta = &body["meta"];
    let postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
    if postgres {
        assert_eq!(meta["record_count_estimated"], true, "{meta}");
        assert!(meta["record_count"].as_i64().unwrap() > 1_000, "{meta}");
    } else {
        assert_eq!(meta["record_count"], 1_050, "{meta}");
        assert!(meta.get("record_count_estimated").is_none(), "{meta}");
    }
    assert_eq!(body["data"].as_array().unwrap().len(), 5);
    // A short list is counted exactly, and says nothing of estimates.
    let body = app.get("/api/organizations").await.json();
    assert_eq!(body["meta"], json!({"record_count": 1, "page_count": 1}));
}
