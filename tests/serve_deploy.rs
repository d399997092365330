//! The deployment files under deploy/ agree with the server: the probes
//! and the scrape annotation point at real admin paths on the admin port
//! the container serves, every flag they pass exists, the image runs as a
//! non-root user, and the grace period covers the preStop pause and the
//! drain.

use serde_norway::Value;
use sluice_serve::admin::{HEALTHZ, METRICS, READYZ};
use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// Every YAML document under deploy/k8s, by kind.
fn manifests() -> Vec<Value> {
    let mut docs = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(deploy().join("k8s"))
        .expect("deploy/k8s exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for doc in serde_norway::Deserializer::from_str(&text) {
            let v: Value = serde::Deserialize::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            docs.push(v);
        }
    }
    docs
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} in deploy/k8s"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

/// The value of `--flag=value` or `--flag value` in an argument list.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix(&format!("{name}=")).or_else(|| {
            (a == name)
                .then(|| args.get(i + 1).map(String::as_str))
                .flatten()
        })
    })
}

fn port_of(addr: &str) -> u64 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

fn serve_help() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn probes_point_at_real_admin_paths_and_ports() {
    let docs = manifests();
    let dep = of_kind(&docs, "Deployment");
    let pod = &dep["spec"]["template"];
    let c = &pod["spec"]["containers"][0];
    let args: Vec<String> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| s(a).to_string())
        .collect();
    let admin_port = port_of(flag(&args, "--admin").expect("--admin is given"));
    let ports = c["ports"].as_sequence().unwrap();
    let named = |name: &str| {
        ports
            .iter()
            .find(|p| p["name"].as_str() == Some(name))
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("no container port named {name}"))
    };
    assert_eq!(named("admin"), admin_port);
    assert_eq!(named("calls"), port_of(flag(&args, "--listen").unwrap()));
    for (probe, path) in [("readinessProbe", READYZ), ("livenessProbe", HEALTHZ)] {
        let get = &c[probe]["httpGet"];
        assert_eq!(s(&get["path"]), path, "{probe}");
        let port = match &get["port"] {
            Value::Number(n) => n.as_u64().unwrap(),
            p => named(s(p)),
        };
        assert_eq!(port, admin_port, "{probe} port");
    }
    let ann = &pod["metadata"]["annotations"];
    assert_eq!(s(&ann["prometheus.io/path"]), METRICS);
    assert_eq!(
        s(&ann["prometheus.io/port"]).parse::<u64>().unwrap(),
        admin_port
    );

    // Every flag the pod passes exists.
    let help = serve_help();
    for a in args.iter().filter(|a| a.starts_with("--")) {
        let name = a.split('=').next().unwrap();
        assert!(help.contains(name), "`sluice serve` has no {name}");
    }

    // The grace period covers the preStop pause and the drain.
    let pre = c["lifecycle"]["preStop"]["exec"]["command"]
        .as_sequence()
        .unwrap();
    assert_eq!(s(&pre[0]), "sleep");
    let pause: u64 = s(&pre[1]).parse().unwrap();
    let drain = flag(&args, "--drain-timeout").unwrap();
    let drain: u64 = drain.trim_end_matches('s').parse().unwrap();
    let grace = pod["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap();
    assert!(grace > pause + drain, "grace {grace} <= {pause} + {drain}");

    // The Service and the autoscaler point at what exists.
    let svc = of_kind(&docs, "Service");
    for p in svc["spec"]["ports"].as_sequence().unwrap() {
        named(s(&p["targetPort"]));
    }
    assert_eq!(
        svc["spec"]["selector"],
        dep["spec"]["selector"]["matchLabels"]
    );
    let hpa = of_kind(&docs, "HorizontalPodAutoscaler");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        dep["metadata"]["name"]
    );
    let metric = &hpa["spec"]["metrics"][0]["resource"];
    assert_eq!(s(&metric["name"]), "cpu");
}

#[test]
fn the_image_is_multi_stage_runs_as_non_root_and_serves_the_admin_port() {
    let text = std::fs::read_to_string(deploy().join("Dockerfile")).unwrap();
    let from = text.lines().filter(|l| l.starts_with("FROM ")).count();
    assert!(from >= 2, "multi-stage build");
    let user = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(!matches!(user.trim(), "root" | "0"), "runs as {user}");
    let cmd = text.lines().find_map(|l| l.strip_prefix("CMD ")).unwrap();
    let args: Vec<String> = serde_json::from_str(cmd).unwrap();
    let admin = port_of(flag(&args, "--admin").unwrap());
    let expose = text
        .lines()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .unwrap();
    assert!(expose.split_whitespace().any(|p| p.parse() == Ok(admin)));
    let help = serve_help();
    for a in args.iter().filter(|a| a.starts_with("--")) {
        assert!(help.contains(a.split('=').next().unwrap()), "{a}");
    }
}
