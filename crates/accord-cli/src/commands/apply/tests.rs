//! `apply`'s pure parts: reading documents as `-o yaml` prints them and planning the change
//! against the server's resource.

use accord_proto::provisioner::v1 as pb;
use serde_json::Value;

use super::*;
use crate::fixtures;
use crate::output::{OutputFormat, Resource, render_list, render_one};

const PROJECT: &str = "pr-01jexample00000000000001";

/// What `accord get cluster demo -o yaml` prints, read back.
fn printed<R: Resource>(item: &R) -> Value {
    let yaml = render_one(OutputFormat::Yaml, item, String::new).unwrap();
    let mut objects = objects(&yaml).unwrap();
    assert_eq!(objects.len(), 1);
    objects.remove(0)
}

fn set(document: &mut Value, pointer: &str, value: Value) {
    *document.pointer_mut(pointer).unwrap() = value;
}

#[test]
fn lists_and_document_streams_are_flattened() {
    let clusters = [
        fixtures::cluster("a", "cl-a"),
        fixtures::cluster("b", "cl-b"),
    ];
    let list = render_list(OutputFormat::Yaml, &clusters, String::new).unwrap();
    let one = render_one(OutputFormat::Yaml, &fixtures::node_pool("gpu"), String::new).unwrap();
    let stream = format!("{list}\n---\n{one}\n---\n");
    let objects = objects(&stream).unwrap();
    let kinds: Vec<&str> = objects.iter().map(|o| kind(o).unwrap()).collect();
    assert_eq!(kinds, ["Cluster", "Cluster", "NodePool"]);
    // JSON is YAML too.
    let json = render_list(OutputFormat::Json, &clusters, String::new).unwrap();
    assert_eq!(super::objects(&json).unwrap().len(), 2);
}

#[test]
fn bad_input_is_refused_with_its_place() {
    assert!(
        objects("a: [1\n")
            .unwrap_err()
            .to_string()
            .contains("document 1 is not valid YAML")
    );
    assert!(
        objects("kind: Cluster\n---\n- 1\n")
            .unwrap_err()
            .to_string()
            .contains("document 2 is not an object")
    );
    let many = "kind: Cluster\n---\n".repeat(MAX_OBJECTS + 1);
    assert!(
        objects(&many)
            .unwrap_err()
            .to_string()
            .contains("at most 256 objects")
    );
    let big = vec![b'#'; usize::try_from(MAX_INPUT_BYTES).unwrap() + 1];
    let error = read_bounded(big.as_slice(), "standard input").unwrap_err();
    assert_eq!(error.to_string(), "standard input is larger than 4 MiB");
    let fits = vec![b'#'; usize::try_from(MAX_INPUT_BYTES).unwrap()];
    assert!(read_bounded(fits.as_slice(), "x").is_ok());
    let nameless = serde_json::json!({"metadata": {"name": "x".repeat(500)}});
    assert!(kind(&nameless).unwrap_err().to_string().len() < 200);
}

#[test]
fn a_printed_cluster_applies_as_unchanged() {
    let cluster = fixtures::cluster("demo", "cl-01jexample000000000demo001");
    let document = printed(&cluster);
    assert_eq!(
        cluster::plan(PROJECT, &document, Some(&cluster)).unwrap(),
        cluster::Change::Unchanged
    );
}

#[test]
fn changed_cluster_labels_and_settings_are_one_update_with_the_version() {
    let current = fixtures::cluster("demo", "cl-01jexample000000000demo001");
    let mut document = printed(&current);
    set(
        &mut document,
        "/metadata/labels",
        serde_json::json!({"team": "research"}),
    );
    set(
        &mut document,
        "/spec/autoclusters/max_unhealthy_percent",
        Value::from(30),
    );
    let cluster::Change::Update(request) =
        cluster::plan(PROJECT, &document, Some(&current)).unwrap()
    else {
        panic!("expected an update");
    };
    assert_eq!(request.update_mask, ["labels", "spec.autoclusters"]);
    assert_eq!(request.resource_version, 7);
    assert_eq!(request.cluster, "cl-01jexample000000000demo001");
    assert_eq!(request.labels["team"], "research");
    let autoclusters = request.spec.unwrap().autoclusters.unwrap();
    assert_eq!(autoclusters.max_unhealthy_percent, 30);
    // What `-o yaml` does not show is kept as the server has it.
    assert_eq!(autoclusters.mode, "auto");
    assert_eq!(autoclusters.maintenance_windows.len(), 1);
}

#[test]
fn immutable_cluster_fields_are_refused_by_name() {
    let current = fixtures::cluster("demo", "cl-01jexample000000000demo001");
    let mut document = printed(&current);
    set(&mut document, "/spec/region", Value::from("us-east1"));
    set(
        &mut document,
        "/spec/kubernetes_version",
        Value::from("1.33"),
    );
    set(&mut document, "/metadata/labels", serde_json::json!({}));
    let error = cluster::plan(PROJECT, &document, Some(&current))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("spec.kubernetes_version (`accord upgrade`"),
        "{error}"
    );
    assert!(error.contains("spec.region (immutable)"), "{error}");
    assert!(error.contains("the update would need: labels"), "{error}");
}

#[test]
fn an_absent_cluster_is_created_from_the_document() {
    let cluster = fixtures::cluster("demo", "cl-01jexample000000000demo001");
    let mut document = printed(&cluster);
    document["spec"]["oidc"] = serde_json::json!({"issuer_url": "https://id", "client_id": "k"});
    let cluster::Change::Create(request) = cluster::plan(PROJECT, &document, None).unwrap() else {
        panic!("expected a create");
    };
    assert_eq!(request.name, "demo");
    assert_eq!(request.labels["team"], "ml");
    let spec = request.spec.unwrap();
    assert_eq!(spec.region, "eu-iceland1");
    assert_eq!(spec.network.unwrap().pod_cidr, "10.244.0.0/16");
    assert_eq!(spec.oidc.unwrap().issuer_url, "https://id");
    assert_eq!(spec.addons.len(), 2);
    // A typo is an error, not an ignored field.
    document["spec"]["oidc"] = serde_json::json!({"issuer": "https://id"});
    let error = cluster::plan(PROJECT, &document, None).unwrap_err();
    assert!(
        format!("{error:#}").contains("field spec is not valid"),
        "{error:#}"
    );
}

#[test]
fn a_printed_pool_applies_as_unchanged_and_taints_update() {
    let current = fixtures::node_pool("gpu");
    let mut document = printed(&current);
    assert_eq!(
        pool::plan(PROJECT, &document, Some(&current)).unwrap(),
        pool::Change::Unchanged
    );
    set(&mut document, "/spec/taints", serde_json::json!([]));
    let pool::Change::Update(request) = pool::plan(PROJECT, &document, Some(&current)).unwrap()
    else {
        panic!("expected an update");
    };
    assert_eq!(request.update_mask, ["spec.taints"]);
    assert_eq!(request.cluster, "cl-01jexample000000000demo001");
    assert!(request.spec.unwrap().taints.is_empty());
}

#[test]
fn pool_count_and_image_name_their_commands() {
    let current = fixtures::node_pool("gpu");
    let mut document = printed(&current);
    set(&mut document, "/spec/count", Value::from(5));
    set(&mut document, "/spec/image_version", Value::from("2026.11"));
    let error = pool::plan(PROJECT, &document, Some(&current))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("spec.count (`accord scale nodepool`"),
        "{error}"
    );
    assert!(
        error.contains("spec.image_version (`accord cycle nodepool`"),
        "{error}"
    );
}

#[test]
fn fields_left_out_are_not_compared() {
    let current = fixtures::cluster("demo", "cl-01jexample000000000demo001");
    let document = serde_json::json!({
        "kind": "Cluster",
        "metadata": {"name": "demo"},
        "spec": {"region": "eu-iceland1"}
    });
    assert_eq!(
        cluster::plan(PROJECT, &document, Some(&current)).unwrap(),
        cluster::Change::Unchanged
    );
    let current: pb::NodePool = fixtures::node_pool("gpu");
    let document = serde_json::json!({"kind": "NodePool", "metadata": {"name": "gpu"}});
    let error = pool::plan(PROJECT, &document, Some(&current)).unwrap_err();
    assert!(error.to_string().contains("spec.cluster_id"), "{error}");
}

#[test]
fn a_partial_nested_object_keeps_the_servers_other_fields_and_maps_are_whole() {
    let current: pb::NodePool = fixtures::node_pool("gpu");
    let document = serde_json::json!({
        "kind": "NodePool",
        "metadata": {"name": "gpu", "resource_version": 3},
        "spec": {
            "cluster_id": current.spec.as_ref().unwrap().cluster_id,
            "rolling_update": {"max_unavailable": 2},
            "node_labels": {"team": "ml"}
        }
    });
    let pool::Change::Update(request) = pool::plan(PROJECT, &document, Some(&current)).unwrap()
    else {
        panic!("expected an update");
    };
    assert_eq!(
        request.update_mask,
        ["spec.node_labels", "spec.rolling_update"]
    );
    let spec = request.spec.unwrap();
    let rolling = spec.rolling_update.unwrap();
    // max_surge was left out: the server's 1, not 0.
    assert_eq!((rolling.max_surge, rolling.max_unavailable), (1, 2));
    // A map is the document's whole: the server's accord.dev/gpu label goes.
    assert_eq!(
        spec.node_labels,
        std::collections::HashMap::from([("team".to_owned(), "ml".to_owned())])
    );
    // Unchanged leaves given alone are no change.
    let same = serde_json::json!({
        "kind": "NodePool",
        "metadata": {"name": "gpu"},
        "spec": {
            "cluster_id": current.spec.as_ref().unwrap().cluster_id,
            "rolling_update": {"max_surge": 1}
        }
    });
    assert_eq!(
        pool::plan(PROJECT, &same, Some(&current)).unwrap(),
        pool::Change::Unchanged
    );
}
