//! Tests of the engine: tie-break, hints and title weight, the fallback, the breaks paths and
//! their blame cues, the add-on paths and the serialised answer.

use super::{blame::follows, *};
use crate::{action::Action, ticket::TicketContext};

/// Two rules that tie on the word "disk", a third that ties with them on priority too.
const TIES: &str = r#"
version: 7
settings: {min_score: 1, review_below: 0}
rules:
  - id: sup-persistent-disk
    category: supported
    component: persistent-disk
    priority: 10
    text: Disk.
    actions: [open-provider-incident]
    patterns: {2: [disk], 3: [attach failed]}
  - id: cust-storage-classes
    category: customer-owned
    component: storage-classes
    priority: 5
    text: StorageClass.
    actions: [answer-with-checklist]
    checklist: [a, b]
    hints: [sc]
    patterns: {2: [disk], 4: [storageclass]}
  - id: cust-pvc
    category: customer-owned
    component: persistent-volume-claims
    priority: 5
    text: PVC.
    actions: [answer-with-checklist]
    checklist: [a, b]
    patterns: {2: [claim]}
  - id: cust-a-claims
    category: customer-owned
    component: persistent-volume-claims
    priority: 5
    text: Claims.
    actions: [answer-with-checklist]
    checklist: [a, b]
    patterns: {2: [claim]}
  - id: be-unclassified
    category: best-effort
    trigger: fallback
    text: Unclassified.
    actions: [advise]
"#;

fn ties() -> RuleSet {
    RuleSet::from_yaml_str(TIES).unwrap()
}

fn shipped() -> RuleSet {
    RuleSet::shipped().unwrap()
}

#[test]
fn equal_scores_go_to_the_higher_priority_then_the_smaller_id() {
    let set = ties();
    let c = set.classify(&Ticket::new("t", "disk", ""));
    assert_eq!(&*c.rule.id, "sup-persistent-disk");
    // A tie between categories is no confidence at all.
    assert_eq!(c.confidence, 0.0);

    let c = set.classify(&Ticket::new("t", "claim", ""));
    assert_eq!(&*c.rule.id, "cust-a-claims");
    // Same category on both sides: the category is certain even if the rule is a tie.
    assert!(c.confidence > 0.5, "{c:?}");
}

#[test]
fn score_beats_priority_and_hints_add_weight() {
    let set = ties();
    let c = set.classify(&Ticket::new("t", "disk", "storageclass"));
    assert_eq!(&*c.rule.id, "cust-storage-classes");
    // The component field names the rule's hint (or its component id).
    let c = set.classify(&Ticket::new("t", "disk", "").with_component("SC"));
    assert_eq!(&*c.rule.id, "cust-storage-classes");
    let c = set.classify(&Ticket::new("t", "disk", "").with_component("storage-classes"));
    assert_eq!(&*c.rule.id, "cust-storage-classes");
}

#[test]
fn title_matches_weigh_more_and_repeats_count_once() {
    let set = ties();
    // "disk" in the title (2 × 1.5) beats "claim" in the description (2).
    let c = set.classify(&Ticket::new("t", "disk", "claim"));
    assert_eq!(&*c.rule.id, "sup-persistent-disk");
    // A log repeating a word does not outweigh one occurrence of something else.
    let c = set.classify(&Ticket::new("t", "", "disk disk disk disk storageclass"));
    assert_eq!(&*c.rule.id, "cust-storage-classes");
}

#[test]
fn gibberish_needs_review_with_the_fallback() {
    for set in [ties(), shipped()] {
        let c = set.classify(&Ticket::new("g", "asdf qwer", "zxcv uiop lorem"));
        assert_eq!(&*c.rule.id, "be-unclassified");
        assert_eq!(c.category, Category::BestEffort);
        assert!(c.needs_review);
        assert_eq!(c.confidence, 0.0);
        assert_eq!(c.layer, None);
        assert_eq!(c.actions.last(), Some(&Action::ManualTriage));
    }
}

#[test]
fn customer_component_breaking_the_control_plane_is_customer_owned_with_restore_actions() {
    let set = shipped();
    let c = set.classify(&Ticket::new(
        "t",
        "kubectl apply fails since we added a validating webhook",
        "Internal error occurred: failed calling webhook \"check.example.com\": \
         context deadline exceeded",
    ));
    assert_eq!(&*c.rule.id, "cust-breaks-control-plane");
    assert_eq!(c.category, Category::CustomerOwned);
    assert!(c.actions.contains(&Action::RestoreControlPlane), "{c:?}");
    assert!(c.actions.contains(&Action::NotifyCustomer), "{c:?}");
    assert!(!c.checklist.is_empty());
    assert!(!c.needs_review);

    // The same symptoms without a customer component are the provider's.
    let c = set.classify(&Ticket::new(
        "t",
        "api server returns 503",
        "kubectl hangs, then: the server is currently unable to handle the request",
    ));
    assert_eq!(&*c.rule.id, "sup-control-plane-api");
    assert_eq!(c.category, Category::Supported);
    assert!(c.actions.contains(&Action::PageOnCall));
    assert!(!c.needs_review);

    // A component listed in the context and named in the text counts as the culprit.
    let ctx = TicketContext::default().with_customer_component("acme-sync");
    let c = set.classify(
        &Ticket::new(
            "t",
            "api server 503",
            "acme-sync floods the API with list calls",
        )
        .with_context(ctx.clone()),
    );
    assert_eq!(&*c.rule.id, "cust-breaks-control-plane");
    // Listed but not named: the provider's, flagged for a human to check.
    let c = set.classify(
        &Ticket::new("t", "api server 503", "kubectl hangs since this morning").with_context(ctx),
    );
    assert_eq!(c.category, Category::Supported);
    assert!(c.needs_review);
}

/// The rule id and category of a ticket classified by the shipped rules.
fn verdict(set: &RuleSet, title: &str, description: &str) -> (String, Category) {
    let c = set.classify(&Ticket::new("t", title, description));
    (c.rule.id.to_string(), c.category)
}

fn customer_broke_control_plane(set: &RuleSet, title: &str, description: &str) {
    let c = set.classify(&Ticket::new("t", title, description));
    assert_eq!(
        &*c.rule.id, "cust-breaks-control-plane",
        "{title} / {description}"
    );
    assert_eq!(c.component.as_deref(), Some("kube-apiserver"));
    assert!(c.actions.contains(&Action::RestoreControlPlane), "{c:?}");
    assert!(c.actions.contains(&Action::NotifyCustomer), "{c:?}");
}

fn customer_broke_fabric(set: &RuleSet, title: &str, description: &str) {
    let c = set.classify(&Ticket::new("t", title, description));
    assert_eq!(&*c.rule.id, "cust-breaks-fabric", "{title} / {description}");
    assert_eq!(c.category, Category::CustomerOwned);
    assert_eq!(c.component.as_deref(), Some("infiniband-fabric"));
    assert!(c.actions.contains(&Action::RestoreControlPlane), "{c:?}");
    assert!(c.actions.contains(&Action::NotifyCustomer), "{c:?}");
    assert!(c.checklist.iter().any(|i| i.contains("NCCL")), "{c:?}");
    assert!(!c.needs_review);
}

#[test]
fn causal_phrases_blame_a_component_the_text_calls_the_customers() {
    let set = shipped();
    // Temporal cause + a product name.
    customer_broke_control_plane(
        &set,
        "API server rejecting requests",
        "Since we rolled out our Kyverno policies the API server rejects requests at random.",
    );
    // Explicit attribution to an owned component.
    customer_broke_control_plane(
        &set,
        "etcd degraded",
        "etcd is slow and writes time out, caused by our custom controller writing status \
         every 100ms",
    );
    // A component the customer installed, in the request path of the failing API.
    customer_broke_control_plane(
        &set,
        "kubectl apply times out",
        "The admission webhook we deployed is timing out and kubectl apply ends with \
         context deadline exceeded.",
    );
    customer_broke_control_plane(
        &set,
        "control plane degraded",
        "The OPA gatekeeper we installed: the control plane is degraded, requests are rejected.",
    );
}

#[test]
fn word_order_blames_the_component_named_before_the_verb() {
    let set = shipped();
    customer_broke_control_plane(
        &set,
        "429 everywhere",
        "My operator is hammering the API server; every client gets 429 too many requests.",
    );
    customer_broke_control_plane(
        &set,
        "apiserver throttled",
        "our custom controller keeps flooding the api server with list calls, it is throttled",
    );
    // The verb before the component: the API is the one flooded, the operator suffers.
    let (rule, category) = verdict(
        &set,
        "API server slow",
        "The api server is flooded with requests and our operator cannot reconcile.",
    );
    assert_eq!(category, Category::Supported, "{rule}");
    // Too far apart to be the subject of the verb.
    assert!(!follows(
        " our operator a b c d flood ",
        Some(14),
        25,
        AGENT_WINDOW_WORDS
    ));
    assert!(follows(
        " our operator a b c flood ",
        Some(14),
        19,
        AGENT_WINDOW_WORDS
    ));
    assert!(follows(
        " our operator flood ",
        Some(14),
        13,
        AGENT_WINDOW_WORDS
    ));
}

#[test]
fn a_customer_component_that_suffers_a_provider_failure_is_not_blamed() {
    let set = shipped();
    let c = set.classify(&Ticket::new(
        "t",
        "API server down",
        "the API server is down and our operator can't reconcile",
    ));
    assert_eq!(&*c.rule.id, "sup-control-plane-api");
    assert_eq!(c.category, Category::Supported);
    // The victim cue explains the mention: no review needed on that account.
    assert!(c.actions.contains(&Action::PageOnCall));

    // Declared in the context, but described as a victim.
    let ctx = TicketContext::default().with_customer_component("acme-sync");
    let c = set.classify(
        &Ticket::new(
            "t",
            "api server 503",
            "acme-sync cannot reconcile because the API server answers 503",
        )
        .with_context(ctx.clone()),
    );
    assert_eq!(c.category, Category::Supported, "{c:?}");
    // Declared and named, a denial: nothing blamed, but listed components ask for review.
    let c = set.classify(
        &Ticket::new(
            "t",
            "api server 503",
            "acme-sync logs show 503 from the API server; nothing changed on our side",
        )
        .with_context(ctx),
    );
    assert_eq!(c.category, Category::Supported, "{c:?}");
    assert!(c.needs_review);

    // Named as the customer's, with symptoms, but nothing says it is the cause: the text
    // decides and a human checks.
    let c = set.classify(&Ticket::new(
        "t",
        "api server 503",
        "kubectl returns 503 service unavailable. We run our operator and istio.",
    ));
    assert_eq!(c.category, Category::Supported, "{c:?}");
    assert!(c.needs_review);
}

#[test]
fn inferred_causes_blame_unless_a_victim_cue_says_otherwise() {
    let set = shipped();
    // A back-reference to an earlier change.
    customer_broke_control_plane(
        &set,
        "kubectl slow",
        "We enabled our new admission setup on Monday. Ever since, the API server is slow and \
         kubectl times out.",
    );
    // The same back-reference when the component suffers: the provider's.
    let (rule, category) = verdict(
        &set,
        "api server 503",
        "We upgraded our operator on Monday. Since then the API server returns 503 and our \
         operator cannot reconcile.",
    );
    assert_eq!(category, Category::Supported, "{rule}");
    // A co-occurrence with a symptom strong enough alone.
    customer_broke_fabric(
        &set,
        "fabric congested",
        "Every time our sweep launches, the InfiniBand fabric shows congestion for other tenants.",
    );
    // Owner and noun a few words apart, then a self-description.
    customer_broke_fabric(
        &set,
        "ib congestion",
        "Our 256-node finetuning run is probably the culprit: xmit wait climbs on the IB switches \
         and the fabric is congested.",
    );
    // A self-description negated by a victim cue.
    let (rule, category) = verdict(
        &set,
        "ib congestion",
        "Our training job is the victim of a noisy neighbour: InfiniBand congestion and xmit wait \
         on our leaf switch.",
    );
    assert_ne!(rule, "cust-breaks-fabric", "{category:?}");
    // Negated ownership is a denial, and the customer-installed rules sit out.
    let (rule, category) = verdict(
        &set,
        "api server slow",
        "kubectl is slow, api server latency 5s. We don't run any controllers of our own.",
    );
    assert_eq!(
        (rule.as_str(), category),
        ("sup-control-plane-api", Category::Supported)
    );
}

#[test]
fn a_product_the_provider_installed_is_not_the_customers() {
    let set = shipped();
    let (rule, category) = verdict(
        &set,
        "api server 503",
        "The OPA gatekeeper the provider installed is timing out the API server; kubectl \
         hangs with 503 service unavailable.",
    );
    assert_eq!(category, Category::Supported, "{rule}");
    // The same text without the provider cue blames the product (word order: the
    // gatekeeper webhook is what times out).
    customer_broke_control_plane(
        &set,
        "api server 503",
        "Gatekeeper is overloading the API server; kubectl hangs with 503 service unavailable.",
    );
    // An owned phrase still counts next to a provider-installed product.
    customer_broke_control_plane(
        &set,
        "api server 503",
        "Gatekeeper was installed by the provider, but since we installed our own operator \
         the API server answers 503 service unavailable.",
    );
}

#[test]
fn a_customer_job_degrading_the_fabric_is_customer_owned_with_the_fabric_checklist() {
    let set = shipped();
    customer_broke_fabric(
        &set,
        "IB fabric congested",
        "Our training job is saturating the InfiniBand fabric; other tenants see congestion.",
    );
    customer_broke_fabric(
        &set,
        "RDMA throughput collapsed for other jobs",
        "Since we launched our 512-GPU NCCL job the RDMA links are saturated and other jobs \
         stall.",
    );
    customer_broke_fabric(
        &set,
        "ib switch congested",
        "xmit wait on the ib switch ports climbs and the fabric is degraded; it recovers when \
         we pause our benchmark, so it looks caused by our all-reduce test.",
    );
    // Declared in the context and named, no victim cue.
    let ctx = TicketContext::default().with_customer_component("llm-pretrain");
    let c = set.classify(
        &Ticket::new(
            "t",
            "fabric degraded",
            "InfiniBand fabric degraded, xmit wait high on the leaf switches; llm-pretrain runs \
             on 64 nodes",
        )
        .with_context(ctx),
    );
    assert_eq!(&*c.rule.id, "cust-breaks-fabric");
}

#[test]
fn fabric_faults_and_tuning_questions_stay_with_the_text_rules() {
    let set = shipped();
    // A provider fault; the job is the victim.
    let (rule, category) = verdict(
        &set,
        "IB link flapping",
        "ibstat shows port 3 link flapping on gpu-12 and our training job crashes with NCCL \
         timeouts because of the fabric",
    );
    assert_eq!(
        (rule.as_str(), category),
        ("sup-infiniband", Category::Supported)
    );
    // A link that flaps since the job started is still the hardware: flaps alone are no
    // fabric-level symptom.
    let (_, category) = verdict(
        &set,
        "IB link flaps",
        "Since we started our training job, ib port 2 on gpu-07 is flapping (physical state \
         polling).",
    );
    assert_eq!(category, Category::Supported);
    // The customer's own job being slow is tuning advice.
    let (rule, category) = verdict(
        &set,
        "all-reduce slow",
        "Our NCCL all-reduce across nodes is slow over InfiniBand, busbw 120 GB/s; which \
         NCCL settings do you recommend?",
    );
    assert_eq!(
        (rule.as_str(), category),
        ("be-nccl-tuning", Category::BestEffort)
    );
}

#[test]
fn customer_owned_addon_makes_its_problem_customer_owned() {
    let set = shipped();
    let ticket = Ticket::new(
        "t",
        "gpu operator driver pods crashlooping",
        "nvidia driver daemonset fails to start on 3 nodes",
    );
    // Without context: the provider's GPU driver.
    assert_eq!(set.classify(&ticket).category, Category::Supported);

    let modified = ticket.clone().with_context(
        TicketContext::default().with_addon("nvidia-gpu-operator", AddonOwnership::CustomerOwned),
    );
    let c = set.classify(&modified);
    assert_eq!(&*c.rule.id, "cust-addon-modified");
    assert_eq!(c.category, Category::CustomerOwned);
    assert!(
        c.rule.text.contains("nvidia-gpu-operator"),
        "{}",
        c.rule.text
    );
    assert!((2..=4).contains(&c.checklist.len()));

    // Shared: still supported, and the rule text says why.
    let shared = ticket.clone().with_context(
        TicketContext::default().with_addon("nvidia-gpu-operator", AddonOwnership::Shared),
    );
    let c = set.classify(&shared);
    assert_eq!(&*c.rule.id, "sup-addon-shared");
    assert_eq!(c.category, Category::Supported);
    assert_eq!(c.component.as_deref(), Some("core-addons"));
    assert!(c.rule.text.contains("shared"), "{}", c.rule.text);

    // An add-on the ticket does not mention changes nothing.
    let unrelated = Ticket::new("t", "need more H100 quota", "raise our project GPU quota")
        .with_context(TicketContext::default().with_addon("cilium", AddonOwnership::CustomerOwned));
    assert_ne!(set.classify(&unrelated).category, Category::CustomerOwned);
}

#[test]
fn component_field_names_the_addon_and_hardware_faults_stay_the_providers() {
    let set = shipped();
    let ctx = TicketContext::default().with_addon("cilium", AddonOwnership::CustomerOwned);
    let c = set.classify(
        &Ticket::new("t", "policies not enforced", "")
            .with_component("Cilium")
            .with_context(ctx),
    );
    assert_eq!(&*c.rule.id, "cust-addon-modified");
    assert_eq!(c.confidence, ADDON_BY_HINT_CONFIDENCE);

    let ctx =
        TicketContext::default().with_addon("nvidia-gpu-operator", AddonOwnership::CustomerOwned);
    let c = set.classify(
        &Ticket::new(
            "t",
            "Xid 79",
            "GPU has fallen off the bus; we changed the gpu operator",
        )
        .with_context(ctx),
    );
    assert_eq!(c.category, Category::Supported);
    assert_eq!(&*c.rule.id, "sup-gpu-hardware");
}

#[test]
fn classification_serialises_with_the_documented_names() {
    let set = shipped();
    let c = set.classify(&Ticket::new(
        "t-1",
        "help us tune NCCL",
        "all-reduce busbw is low",
    ));
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["id"], "t-1");
    assert_eq!(json["category"], "best-effort");
    assert_eq!(json["rule"]["id"], "be-nccl-tuning");
    assert_eq!(json["actions"][0], "advise");
    assert!(json["confidence"].as_f64().unwrap() > 0.0);
    assert_eq!(json["needs_review"], false);
    let back: Classification = serde_json::from_value(json).unwrap();
    assert_eq!(back, c);
}
