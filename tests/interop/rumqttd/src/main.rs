//! `mqttas-interop-rumqttd CONFIG.toml`: run rumqttd 0.20.0 with the
//! given configuration, as its own binary does (`rumqttd -c CONFIG`).
//! Logs go to stderr, filtered by `RUST_LOG` (default `rumqttd=warn`).

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: mqttas-interop-rumqttd CONFIG.toml");
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "rumqttd=warn".into());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
    let config: rumqttd::Config = config::Config::builder()
        .add_source(config::File::new(&path, config::FileFormat::Toml))
        .build()
        .and_then(config::Config::try_deserialize)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    rumqttd::Broker::new(config)
        .start()
        .expect("rumqttd stopped");
}
