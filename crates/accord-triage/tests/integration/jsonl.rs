//! The JSON Lines batch helper: order, blank lines, malformed lines and the summary.

// Test helpers outside #[test] functions may unwrap and panic too (as in the other crates).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accord_triage::{JsonlSummary, RuleSet, classify_jsonl};

fn run(input: &[u8]) -> (JsonlSummary, Vec<serde_json::Value>) {
    let rules = RuleSet::shipped().unwrap();
    let mut out = Vec::new();
    let summary = classify_jsonl(&rules, input, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'));
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (summary, lines)
}

#[test]
fn one_line_out_per_ticket_in_order_blank_lines_skipped() {
    let input = concat!(
        r#"{"id":"a","title":"kubectl hangs, API answers 503","description":"the server is currently unable to handle the request"}"#,
        "\n\n   \n",
        r#"{"id":"b","title":"help us tune NCCL","description":"busbw low on all_reduce_perf"}"#,
        "\r\n",
        r#"{"id":"c","title":"RBAC forbidden","description":"pods is forbidden: User cannot list resource"}"#,
    );
    let (summary, lines) = run(input.as_bytes());
    assert_eq!(
        summary,
        JsonlSummary {
            classified: 3,
            needs_review: 0,
            malformed: 0
        }
    );
    assert!(!summary.has_errors());
    let ids: Vec<_> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let categories: Vec<_> = lines
        .iter()
        .map(|l| l["category"].as_str().unwrap())
        .collect();
    assert_eq!(categories, ["supported", "best-effort", "customer-owned"]);
    assert_eq!(lines[2]["checklist"].as_array().unwrap().len(), 3);
}

#[test]
fn malformed_lines_are_reported_with_line_number_and_id_when_known() {
    let input = [
        r#"{"id":"ok-1","title":"Xid 79 on node 4","description":"GPU has fallen off the bus"}"#,
        r#"{"id":"bad-1","title":"x","descripton":"typo in the field name"}"#,
        "",
        "this is not json",
        r#"{"id":42,"title":"numeric id"}"#,
        r#"{"id":"bad-2""#,
        r#"["id","array"]"#,
        r#"{"id":"ok-2","title":"asdf","description":"qwer"}"#,
    ]
    .join("\n");
    let (summary, lines) = run(input.as_bytes());
    assert_eq!(summary.classified, 2);
    assert_eq!(summary.malformed, 5);
    assert_eq!(summary.needs_review, 1);
    assert!(summary.has_errors());
    assert_eq!(lines.len(), 7);

    assert_eq!(lines[0]["category"], "supported");
    assert_eq!(lines[1]["id"], "bad-1");
    assert_eq!(lines[1]["line"], 2);
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `descripton`"),
        "{}",
        lines[1]
    );
    // Not JSON, a non-string id, truncated JSON, not an object: no id.
    for (index, line) in [(2, 4), (3, 5), (4, 6), (5, 7)] {
        assert_eq!(lines[index]["line"], line, "{}", lines[index]);
        assert!(lines[index].get("id").is_none(), "{}", lines[index]);
        assert!(lines[index]["error"].is_string());
    }
    assert_eq!(lines[6]["id"], "ok-2");
    assert_eq!(lines[6]["needs_review"], true);
}

#[test]
fn invalid_utf8_is_a_malformed_line_not_an_abort() {
    let mut input = b"{\"id\":\"x\",\"title\":\"\xff\xfe\"}\n".to_vec();
    input.extend_from_slice(br#"{"id":"y","title":"etcdserver: request timed out"}"#);
    let (summary, lines) = run(&input);
    assert_eq!((summary.classified, summary.malformed), (1, 1));
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[1]["id"], "y");
}

#[test]
fn empty_input_gives_empty_output() {
    let (summary, lines) = run(b"");
    assert_eq!(summary, JsonlSummary::default());
    assert!(lines.is_empty());
}
