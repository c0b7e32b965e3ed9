//! Relays behind a TLS-terminating reverse proxy: nginx (the configuration documented in
//! docs/relay.md) on a loopback port in front of plain relay processes. Two organisations sync
//! over `wss://` through it, and the key they pin is the relay's own, proven through the proxy.
//! With two relay nodes on one PostgreSQL database behind it, nginx spreads the connections over
//! both, and a rolling restart of the nodes keeps the workspace available.
//!
//! nginx and PostgreSQL must be installed (`.ci/run` installs them); without them these tests
//! fail and say so.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kompas_tests::Kompas;
use kompas_tests::relay::RelayProcess;
use kompas_tests::tls::TestCa;

/// The nginx binary: on the PATH, or where Debian puts it.
fn nginx() -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nginx is not installed, and this test needs it: \
                 apt-get install -y --no-install-recommends nginx (as .ci/run does)"
            )
        })
}

/// A port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// nginx in the foreground with its own prefix; stopped when dropped.
struct Nginx {
    child: Child,
    log: PathBuf,
}

impl Nginx {
    fn start(prefix: &Path, port: u16, upstreams: &[u16], cert: &Path, key: &Path) -> Nginx {
        std::fs::create_dir_all(prefix).expect("prefix");
        let p = prefix.display();
        let servers: String = upstreams
            .iter()
            .map(|port| format!("        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;\n"))
            .collect();
        // The proxy part is the configuration docs/relay.md documents; the rest keeps this
        // nginx inside its temporary directory.
        let config = format!(
            r#"user root;
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream kompas_relay {{
{servers}    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate     {cert};
        ssl_certificate_key {key};

        location / {{
            proxy_pass http://kompas_relay;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }}
    }}
}}
"#,
            cert = cert.display(),
            key = key.display(),
        );
        let conf = prefix.join("nginx.conf");
        std::fs::write(&conf, config).expect("write nginx.conf");
        let log = prefix.join("error.log");
        let child = Command::new(nginx())
            .arg("-p")
            .arg(prefix)
            .arg("-e")
            .arg(&log)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nginx: {e}"));
        let mut nginx = Nginx { child, log };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx stopped ({status}):\n{}", nginx.log_text());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not listen on {port}:\n{}",
                nginx.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_organisations_sync_through_nginx_and_pin_the_relay_behind_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new(&dir.path().join("certs"), "Testautoriteit Proxy");
    let ca_arg = ca.arg();
    let tls = ca.issue("proxy", "localhost", 2020, 2090);
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let port = free_port();
    let proxy = Nginx::start(
        &dir.path().join("nginx"),
        port,
        &[relay.addr.port()],
        &tls.cert,
        &tls.key,
    );
    let url = format!("wss://localhost:{port}");

    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    gemeente.ok(&[
        "workspace",
        "create",
        "Jeugd Havenstad",
        "--relay",
        &url,
        "--ca",
        ca_arg,
    ]);
    // The key pinned through the proxy is the relay's own: the proxy cannot stand in for it.
    let relays = gemeente.json(&["workspace", "relays", "list"]);
    assert_eq!(relays["trust"][&url]["key"], relay.key.as_str(), "{relays}");
    let swv = Kompas::organisation(
        dir.path(),
        "swv",
        "Samenwerkingsverband Havenstad",
        "samenwerkingsverband",
    );
    let code = gemeente.invite();
    swv.ok(&["workspace", "join", &code, "--ca", ca_arg]);
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Via de proxy"]);
    gemeente.ok(&["sync"]);
    swv.ok(&["sync"]);
    let docs = swv.json(&["doc", "list"]);
    let titles: Vec<&str> = docs
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|d| d["fields"]["titel"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(titles, ["Via de proxy"], "{}", proxy.log_text());
}

/// A relay node on `db` listening on `port` (so that a restarted node takes its place).
fn node(db: &str, port: u16) -> RelayProcess {
    let listen = format!("127.0.0.1:{port}");
    RelayProcess::on_postgres(db, &["--listen", &listen])
}

/// Connections a node has served, from its `/metrics`.
fn connections_served(node: &RelayProcess) -> u64 {
    let (_, text) = node.get("/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix("kompas_relay_connections_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no connection count in /metrics:\n{text}"))
}

#[test]
fn nginx_spreads_two_postgres_nodes_and_a_rolling_restart_keeps_the_workspace_available() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pg =
        kompas_relay::postgres::scratch::ScratchPostgres::start().unwrap_or_else(|e| panic!("{e}"));
    let db = pg.url();
    let ca = TestCa::new(&dir.path().join("certs"), "Testautoriteit Knooppunten");
    let ca_arg = ca.arg();
    let tls = ca.issue("proxy", "localhost", 2020, 2090);
    let (port_one, port_two) = (free_port(), free_port());
    let one = node(&db, port_one);
    let two = node(&db, port_two);
    assert_eq!(one.key, two.key, "the nodes share the relay key");
    let port = free_port();
    let proxy = Nginx::start(
        &dir.path().join("nginx"),
        port,
        &[port_one, port_two],
        &tls.cert,
        &tls.key,
    );
    let url = format!("wss://localhost:{port}");

    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    gemeente.ok(&[
        "workspace",
        "create",
        "Jeugd Havenstad",
        "--relay",
        &url,
        "--ca",
        ca_arg,
    ]);
    let relays = gemeente.json(&["workspace", "relays", "list"]);
    assert_eq!(relays["trust"][&url]["key"], one.key.as_str(), "{relays}");
    let swv = Kompas::organisation(
        dir.path(),
        "swv",
        "Samenwerkingsverband Havenstad",
        "samenwerkingsverband",
    );
    let code = gemeente.invite();
    swv.ok(&["workspace", "join", &code, "--ca", ca_arg]);
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Eerste"]);
    for _ in 0..3 {
        gemeente.ok(&["sync"]);
        swv.ok(&["sync"]);
    }
    assert_eq!(swv.titles(), ["Eerste"], "{}", proxy.log_text());
    let (served_one, served_two) = (connections_served(&one), connections_served(&two));
    assert!(
        served_one > 0 && served_two > 0,
        "nginx sent every connection to one node ({served_one} and {served_two})"
    );

    // Rolling restart: one node at a time stops and comes back; the workspace stays available.
    let sync = |org: &Kompas| {
        let run = org.run(&["sync"]);
        assert_eq!(
            run.code,
            0,
            "sync failed during the rolling restart:\n{}{}\nnginx:\n{}",
            run.stdout,
            run.stderr,
            proxy.log_text()
        );
    };
    assert_eq!(one.terminate(), Some(0));
    gemeente.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Tijdens de eerste herstart",
    ]);
    sync(&gemeente);
    sync(&swv);
    let one = node(&db, port_one);
    // As docs/relay.md describes a rolling restart: the next node stops only once the
    // restarted one is ready and nginx's pause for a failed server (fail_timeout) is over.
    assert_eq!(one.get("/readyz").0, 200);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(two.terminate(), Some(0));
    gemeente.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Tijdens de tweede herstart",
    ]);
    sync(&gemeente);
    sync(&swv);
    let expected = [
        "Eerste",
        "Tijdens de eerste herstart",
        "Tijdens de tweede herstart",
    ];
    assert_eq!(swv.titles(), expected, "{}", proxy.log_text());
    assert_eq!(gemeente.titles(), expected);
    drop(one);
}
