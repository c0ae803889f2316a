//! The SBOM's tests: the serial number's UUID construction (RFC 9562's own example), purls,
//! determinism, refusals, the summary, and the generated document checked by the format's own
//! validator (Python `cyclonedx-python-lib`'s `JsonStrictValidator` for 1.6, with format
//! checks) and every purl parsed back by `packageurl-python`, found through `$ACCORD_PYTHON`
//! (set by `cargo xtask test`).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use time::macros::datetime;

use super::*;

const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn ubuntu(name: &str, version: &str) -> Package {
    Package::deb("ubuntu", "ubuntu-22.04", "amd64", name, version)
}

/// A GPU worker image's packages: a few OS packages and every component the manifest names.
fn h100_image() -> SbomInput {
    let packages = vec![
        Package::bare("ubuntu", "22.04.5", ComponentKind::OperatingSystem)
            .with_supplier("Canonical"),
        ubuntu("libc6", "2.35-0ubuntu3.8").with_licence(Licence::Spdx("LGPL-2.1-or-later".into())),
        ubuntu("openssl", "3.0.2-0ubuntu1.18").with_licence(Licence::Spdx("Apache-2.0".into())),
        ubuntu("systemd", "249.11-0ubuntu3.12"),
        ubuntu("libstdc++6", "12.3.0-1ubuntu1~22.04"),
        ubuntu("linux-image-5.15.0-124-generic", "5.15.0-124.134")
            .with_kind(ComponentKind::OperatingSystem)
            .with_licence(Licence::Spdx("GPL-2.0-only".into()))
            .with_supplier("Canonical"),
        Package::bare("containerd", "1.7.22", ComponentKind::Application)
            .with_origin(Origin::Purl(
                "pkg:github/containerd/containerd@v1.7.22".into(),
            ))
            .with_licence(Licence::Spdx("Apache-2.0".into())),
        Package::generic(
            "opencontainers",
            "runc",
            "1.1.14",
            ComponentKind::Application,
        )
        .with_sha256("a83c0804ebc16826829e7925626c4793da89a9b225bbcc468f2b338ea9f8e8a8"),
        Package::generic(
            "kubernetes",
            "kubelet",
            "1.30.5",
            ComponentKind::Application,
        ),
        Package::generic(
            "nvidia",
            "nvidia-driver",
            "550.90.07",
            ComponentKind::DeviceDriver,
        )
        .with_licence(Licence::Named("NVIDIA Software License Agreement".into()))
        .with_supplier("NVIDIA")
        .with_property("accord:driver-branch", "550"),
        Package::generic(
            "nvidia",
            "nvidia-fabricmanager",
            "550.90.07",
            ComponentKind::Application,
        ),
        Package::generic("nvidia", "doca-ofed", "2.9.0", ComponentKind::DeviceDriver),
        Package::generic("nvidia", "cuda-compat", "12.4.1", ComponentKind::Library),
        Package::generic(
            "nvidia",
            "h100-vbios",
            "96.00.74.00.01",
            ComponentKind::Firmware,
        )
        .with_property("accord:minimum", "true"),
    ];
    SbomInput {
        image_id: "img-01jd6v3xq5n8c7m2k4p9r0s1t2".into(),
        name: "accord-worker-ubuntu-22.04-h100".into(),
        version: "2026.12.1".into(),
        digest: DIGEST.into(),
        packages,
        created_at: datetime!(2026-12-04 03:30:00 UTC),
    }
}

#[test]
fn uuid_v8_matches_rfc_9562_appendix_b2() {
    // namespace DNS, name "www.example.com", SHA-256.
    let dns = [
        0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30,
        0xc8,
    ];
    assert_eq!(
        uuid_v8_sha256(&dns, b"www.example.com"),
        "5c146b14-3c52-8afd-938a-375d0df1fbf6"
    );
}

#[test]
fn serial_number_depends_on_the_image_id_only() {
    let a = serial_number("img-a");
    assert_eq!(a, serial_number("img-a"));
    assert_ne!(a, serial_number("img-b"));
    let uuid = a.strip_prefix("urn:uuid:").unwrap();
    assert_eq!(uuid.len(), 36);
    assert_eq!(&uuid[14..15], "8", "version nibble");
    assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"), "variant");

    let mut other = h100_image();
    other.packages.pop();
    other.created_at = datetime!(2027-01-01 00:00:00 UTC);
    assert_eq!(
        generate(&other).unwrap().serial_number,
        generate(&h100_image()).unwrap().serial_number
    );
}

#[test]
fn generation_is_deterministic_and_sorted() {
    let a = generate(&h100_image()).unwrap().to_json();
    let mut shuffled = h100_image();
    shuffled.packages.reverse();
    assert_eq!(a, generate(&shuffled).unwrap().to_json());

    let bom = generate(&h100_image()).unwrap();
    let refs: Vec<_> = bom.components.iter().map(|c| c.bom_ref.clone()).collect();
    let mut sorted = refs.clone();
    sorted.sort();
    assert_eq!(refs, sorted);
}

#[test]
fn document_header_and_image_component() {
    let mut input = h100_image();
    // The timestamp is written in UTC whatever the offset passed in.
    input.created_at = datetime!(2026-12-04 04:30:00 +01:00);
    let bom = generate(&input).unwrap();
    assert_eq!(bom.bom_format, "CycloneDX");
    assert_eq!(bom.spec_version, "1.6");
    assert_eq!(bom.version, 1);
    assert_eq!(bom.metadata.timestamp, "2026-12-04T03:30:00Z");
    let image = &bom.metadata.component;
    assert_eq!(image.kind, ComponentKind::OperatingSystem);
    assert_eq!(image.name, "accord-worker-ubuntu-22.04-h100");
    assert_eq!(image.version, "2026.12.1");
    assert_eq!(
        image.hashes,
        vec![Hash {
            alg: "SHA-256".into(),
            content: DIGEST.trim_start_matches("sha256:").into()
        }]
    );
    assert_eq!(bom.components.len(), 14);
    // The image contains every component; each component is in the graph.
    assert_eq!(
        bom.dependencies[0].reference,
        "accord-image:img-01jd6v3xq5n8c7m2k4p9r0s1t2"
    );
    assert_eq!(bom.dependencies[0].depends_on.len(), 14);
    assert_eq!(bom.dependencies.len(), 15);

    let json: serde_json::Value = serde_json::from_str(&bom.to_json()).unwrap();
    assert_eq!(json["$schema"], SCHEMA_URL);
    assert_eq!(json["metadata"]["component"]["type"], "operating-system");
    assert_eq!(
        json["metadata"]["tools"]["components"][0]["name"],
        "accord-image"
    );
}

#[test]
fn purls_follow_the_spec() {
    let bom = generate(&h100_image()).unwrap();
    let purl = |name: &str| {
        bom.components
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.purl.clone())
    };
    assert_eq!(
        purl("libc6").unwrap(),
        "pkg:deb/ubuntu/libc6@2.35-0ubuntu3.8?arch=amd64&distro=ubuntu-22.04"
    );
    assert_eq!(
        purl("libstdc++6").unwrap(),
        "pkg:deb/ubuntu/libstdc%2B%2B6@12.3.0-1ubuntu1~22.04?arch=amd64&distro=ubuntu-22.04"
    );
    assert_eq!(
        purl("nvidia-driver").unwrap(),
        "pkg:generic/nvidia/nvidia-driver@550.90.07"
    );
    assert_eq!(
        purl("containerd").unwrap(),
        "pkg:github/containerd/containerd@v1.7.22"
    );
    assert_eq!(purl("ubuntu"), None);
    assert_eq!(purl_encode("1:2.4+dfsg/x y"), "1:2.4%2Bdfsg%2Fx%20y");
}

#[test]
fn licences_suppliers_hashes_properties() {
    let bom = generate(&h100_image()).unwrap();
    let driver = bom
        .components
        .iter()
        .find(|c| c.name == "nvidia-driver")
        .unwrap();
    let json = serde_json::to_value(driver).unwrap();
    assert_eq!(
        json["licenses"],
        serde_json::json!([{ "license": { "name": "NVIDIA Software License Agreement" } }])
    );
    assert_eq!(json["supplier"]["name"], "NVIDIA");
    assert_eq!(
        json["properties"],
        serde_json::json!([{ "name": "accord:driver-branch", "value": "550" }])
    );
    let libc = bom.components.iter().find(|c| c.name == "libc6").unwrap();
    assert_eq!(
        serde_json::to_value(libc).unwrap()["licenses"],
        serde_json::json!([{ "expression": "LGPL-2.1-or-later" }])
    );
    let runc = bom.components.iter().find(|c| c.name == "runc").unwrap();
    assert_eq!(runc.hashes[0].alg, "SHA-256");
}

#[test]
fn refusals_name_the_field() {
    let err = |f: fn(&mut SbomInput)| {
        let mut input = h100_image();
        f(&mut input);
        generate(&input).unwrap_err().to_string()
    };
    assert!(err(|i| i.digest = "sha256:abc".into()).starts_with("digest is invalid"));
    assert!(err(|i| i.name = String::new()).starts_with("name is invalid: is empty"));
    assert!(
        err(|i| i.packages[1].name = "lib\u{202e}c6".into())
            .starts_with("packages[1].name is invalid: contains U+202E")
    );
    assert!(
        err(|i| i.packages[2].version = "x".repeat(MAX_TEXT + 1))
            .contains("bytes)\" is longer than 256 bytes")
    );
    assert!(
        err(|i| i.packages[6].origin = Some(Origin::Purl("https://example.com".into())))
            .starts_with("packages[6].origin.purl is invalid")
    );
    assert!(
        err(|i| i.packages[1].origin = Some(Origin::Deb {
            distro: "Ubuntu".into(),
            distro_release: "22.04".into(),
            arch: "amd64".into()
        }))
        .starts_with("packages[1].origin.distro is invalid")
    );
    assert!(
        err(|i| i.packages[1].licence = Some(Licence::Spdx("GPL; rm -rf".into())))
            .starts_with("packages[1].licence is invalid")
    );
    assert!(
        err(|i| {
            let dup = i.packages[1].clone();
            i.packages.push(dup);
        })
        .contains("appears twice")
    );
    assert!(
        err(|i| i.packages = vec![ubuntu("a", "1"); MAX_PACKAGES + 1])
            .starts_with("packages: at most")
    );
}

#[test]
fn summary_counts_by_type_and_reads_back() {
    let bom = generate(&h100_image()).unwrap();
    let back = Bom::from_json(&bom.to_json_pretty()).unwrap();
    assert_eq!(back, bom);
    let s = summary(&back);
    assert_eq!(s.components, 14);
    assert_eq!(s.format, "CycloneDX");
    assert_eq!(s.spec_version, "1.6");
    let want = [
        (ComponentKind::Application, 4),
        (ComponentKind::Library, 5),
        (ComponentKind::OperatingSystem, 2),
        (ComponentKind::DeviceDriver, 2),
        (ComponentKind::Firmware, 1),
    ];
    assert_eq!(s.by_type, want.into_iter().collect());
}

// ---- the format's own validator ----

/// Validates each file named on the command line against CycloneDX 1.6 (strict, with format
/// checks) and parses each purl back, checking it names its component. Prints one line per
/// file: `ok COMPONENTS` or `invalid: WHY` (one Python start for many documents: loading the
/// schema takes seconds).
const PYTHON_VALIDATE: &str = r#"
import json, sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL
validator = JsonStrictValidator(SchemaVersion.V1_6)
def check(text):
    error = validator.validate_str(text)
    if error is not None:
        return "invalid: " + str(error).replace("\n", " ")
    doc = json.loads(text)
    for c in doc.get("components", []):
        if "purl" in c:
            p = PackageURL.from_string(c["purl"])
            if p.name != c["name"] or p.version.lstrip("v") != c["version"]:
                return "invalid: purl %s names %s %s" % (c["purl"], p.name, p.version)
    return "ok %d" % len(doc.get("components", []))
for path in sys.argv[1:]:
    print(check(open(path).read()))
"#;

/// `$name`, or `None` with a loud note when the variable is unset (a plain `cargo test`). Under
/// CI (`$CI` set) an unset variable fails instead: there the validator must run.
fn tool(var: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var).map(PathBuf::from);
    if path.is_none() && std::env::var_os("CI").is_some() {
        panic!("{var} is not set under CI: run the tests with `cargo xtask test`");
    }
    if path.is_none() {
        eprintln!(
            "\n!!! SKIPPED: {var} is not set, so this SBOM was NOT validated by the CycloneDX \
             validator. Run `cargo xtask test -p accord-image`, which installs the tool and \
             sets {var}. !!!\n"
        );
    }
    path
}

/// Runs the validator on each document (written to temporary files): one verdict per document.
fn validate(python: &Path, docs: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = docs
        .iter()
        .enumerate()
        .map(|(i, json)| {
            let file = dir.path().join(format!("sbom-{i}.cdx.json"));
            std::fs::write(&file, json).unwrap();
            file
        })
        .collect();
    let out = Command::new(python)
        .args(["-c", PYTHON_VALIDATE])
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the validator script failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_eq!(verdicts.len(), docs.len(), "{stdout}");
    verdicts
}

#[test]
fn cyclonedx_strict_validator_accepts_the_sbom() {
    let Some(python) = tool("ACCORD_PYTHON") else {
        return;
    };
    let bom = generate(&h100_image()).unwrap();
    // An image with no packages is still a valid document.
    let mut empty = h100_image();
    empty.packages.clear();
    let docs = [
        bom.to_json(),
        bom.to_json_pretty(),
        generate(&empty).unwrap().to_json(),
    ];
    let verdicts = validate(
        &python,
        &docs.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(verdicts, ["ok 14", "ok 14", "ok 0"], "{}", docs[1]);
}

#[test]
fn cyclonedx_strict_validator_rejects_broken_documents() {
    // The check above would be worthless if the validator accepted anything.
    if std::env::var_os("ACCORD_PYTHON").is_none() {
        tool("ACCORD_PYTHON");
        return;
    }
    let python = tool("ACCORD_PYTHON").unwrap();
    let good = generate(&h100_image()).unwrap().to_json();
    let cases = [
        (
            "a bad timestamp",
            good.replace("2026-12-04T03:30:00Z", "yesterday"),
        ),
        (
            "an unknown type",
            good.replacen("\"device-driver\"", "\"gpu\"", 1),
        ),
        ("a short hash", good.replacen("9f86d081884c7d", "", 1)),
        (
            "an unknown field",
            good.replacen("\"version\":1,", "\"version\":1,\"extra\":1,", 1),
        ),
        (
            "a purl naming another package",
            good.replacen(
                r#""purl":"pkg:deb/ubuntu/libc6@"#,
                r#""purl":"pkg:deb/ubuntu/libc7@"#,
                1,
            ),
        ),
    ];
    for (what, json) in &cases {
        assert_ne!(json, &good, "{what}: the mutation did not apply");
    }
    let docs: Vec<&str> = cases.iter().map(|(_, json)| json.as_str()).collect();
    for ((what, _), verdict) in cases.iter().zip(validate(&python, &docs)) {
        assert!(
            verdict.starts_with("invalid: "),
            "the validator accepted an SBOM with {what}: {verdict}"
        );
    }
}
