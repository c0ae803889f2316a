//! Lifecycle: publication, promotion, deprecation, withdrawal, their refusals, and the update
//! queries.

use time::Duration;

use super::at;
use crate::error::ErrorKind;
use crate::lifecycle::{Action, deprecation_warning};
use crate::manifest::ManifestId;
use crate::{
    Channel, ImageRecord, ImageVersion, Status, deprecate, promote, publish, update_available,
    update_required, usable_for_new_nodes, withdraw,
};

const OP: &str = "op@provider";

fn id(n: u8) -> ManifestId {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
        .parse()
        .unwrap()
}

fn image(n: u8, version: &str, branch: &str) -> ImageRecord {
    publish(
        id(n),
        version.parse().unwrap(),
        branch,
        "image-builder",
        at(),
    )
    .unwrap()
}

fn stable(n: u8, version: &str, branch: &str) -> ImageRecord {
    promote(
        image(n, version, branch),
        OP,
        "soaked a week in candidate",
        at(),
    )
    .unwrap()
}

#[test]
fn publishing_starts_in_candidate() {
    let i = image(1, "2026.12.0", "production");
    assert_eq!(i.channel, Channel::Candidate);
    assert_eq!(i.status, Status::Active);
    assert_eq!(i.history.len(), 1);
    assert_eq!(i.history[0].action, Action::Published);
    assert!(usable_for_new_nodes(&i));
    let err = publish(id(1), "2026.12.0".parse().unwrap(), "beta", "", at()).unwrap_err();
    assert_eq!(err.fields(), ["image.driver_branch", "by"]);
}

#[test]
fn promotion_moves_to_stable_once() {
    let later = at() + Duration::days(7);
    let i = promote(image(1, "2026.12.0", "production"), OP, "soaked", later).unwrap();
    assert_eq!(i.channel, Channel::Stable);
    let last = i.history.last().unwrap();
    assert_eq!(
        (last.action, last.by.as_str(), last.reason.as_str(), last.at),
        (Action::Promoted, OP, "soaked", later)
    );
    let err = promote(i, OP, "again", at()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    assert_eq!(err.fields(), ["image.channel"]);
}

#[test]
fn deprecation_warns_but_keeps_the_image_usable() {
    let i = deprecate(
        stable(1, "2026.11.0", "production"),
        OP,
        "superseded by 2026.12.0",
        at(),
    )
    .unwrap();
    assert!(usable_for_new_nodes(&i));
    assert_eq!(deprecation_warning(&i), Some("superseded by 2026.12.0"));
    assert_eq!(update_required(&i), None);
    let err = deprecate(i, OP, "again", at()).unwrap_err();
    assert_eq!(err.fields(), ["image.status"]);
}

#[test]
fn withdrawal_is_final_and_requires_an_update() {
    let reason = "CVE-2026-31337: containerd escape";
    for start in [
        stable(1, "2026.11.0", "production"),
        deprecate(stable(1, "2026.11.0", "production"), OP, "old", at()).unwrap(),
    ] {
        let i = withdraw(start, OP, reason, at()).unwrap();
        assert!(!usable_for_new_nodes(&i));
        assert_eq!(update_required(&i), Some(reason));
        assert_eq!(i.history.last().unwrap().action, Action::Withdrawn);
        for refused in [
            withdraw(i.clone(), OP, "again", at()),
            deprecate(i.clone(), OP, "later", at()),
            promote(i.clone(), OP, "oops", at()),
        ] {
            let err = refused.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
            assert_eq!(err.fields(), ["image.status"]);
        }
    }
    let err = promote(
        withdraw(image(2, "2026.12.0", "lts"), OP, reason, at()).unwrap(),
        OP,
        "x",
        at(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("withdrawn"), "{err}");
}

#[test]
fn transitions_need_an_actor_and_a_bounded_reason() {
    let i = image(1, "2026.12.0", "production");
    assert_eq!(
        withdraw(i.clone(), "", " ", at()).unwrap_err().fields(),
        ["by", "reason"]
    );
    let long = "x".repeat(crate::limits::MAX_REASON_CHARS + 1);
    assert_eq!(
        deprecate(i.clone(), OP, &long, at()).unwrap_err().fields(),
        ["reason"]
    );
    assert_eq!(
        promote(i, OP, "ok\u{202e}", at()).unwrap_err().fields(),
        ["reason"]
    );
}

#[test]
fn updates_stay_in_channel_and_branch_and_skip_unusable_images() {
    let current = stable(1, "2026.10.0", "production");
    let images = vec![
        current.clone(),
        stable(2, "2026.11.0", "production"),
        image(3, "2026.12.0", "production"),
        withdraw(stable(4, "2026.11.1", "production"), OP, "CVE-2026-1", at()).unwrap(),
        deprecate(stable(5, "2026.11.2", "production"), OP, "bad batch", at()).unwrap(),
        stable(6, "2027.01.0", "lts"),
        stable(7, "2026.09.0", "production"),
    ];
    let pick =
        |channel, branch| update_available(&current, &images, channel, branch).map(|i| i.version);
    assert_eq!(pick(Channel::Stable, "production"), Some(v("2026.11.0")));
    assert_eq!(pick(Channel::Candidate, "production"), Some(v("2026.12.0")));
    assert_eq!(pick(Channel::Stable, "lts"), Some(v("2027.01.0")));
    assert_eq!(pick(Channel::Stable, "new_feature"), None);
    let newest = images[2].clone();
    assert!(update_available(&newest, &images, Channel::Candidate, "production").is_none());
}

fn v(s: &str) -> ImageVersion {
    s.parse().unwrap()
}

#[test]
fn records_round_trip_through_json() {
    let i = withdraw(stable(1, "2026.11.0", "lts"), OP, "CVE-2026-2", at()).unwrap();
    let json = serde_json::to_string(&i).unwrap();
    assert!(
        json.contains(r#""status":{"state":"withdrawn","reason":"CVE-2026-2"}"#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<ImageRecord>(&json).unwrap(), i);
    assert_eq!("stable".parse::<Channel>(), Ok(Channel::Stable));
    assert!("beta".parse::<Channel>().is_err());
}
